"""The match key: normalisation and hashing that SQL must reproduce exactly."""

from __future__ import annotations

import hashlib

import pytest

from tailor.enrich import keys
from tailor.source.validate import RowError


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("raw", "normalized"), [
    (" Ann@Example.COM ", "ann@example.com"),
    ("ann@example.com", "ann@example.com"),
    ("   ", None),
    ("", None),
    # SQL trim() strips spaces only: a tab stays (and makes the address invalid)
    ("\tann@example.com", "\tann@example.com"),
])
def test_normalize_email_is_sql_lower_trim(raw, normalized):
    assert keys.normalize_email(raw) == normalized


def test_email_hash_is_sha256_hex_of_the_normalized_address():
    assert keys.email_sha256(" Ann@Example.COM ") == sha("ann@example.com")
    assert keys.email_sha256("ann@example.com") == keys.email_sha256("ANN@EXAMPLE.COM  ")


@pytest.mark.parametrize(("raw", "reason"), [
    ("not-an-email", "invalid email"),
    ("ann@example", "invalid email"),
    ("\tann@example.com", "invalid email"),
    ("ännä@example.com", "invalid email"),
    # Kelvin sign: str.lower() makes it an ASCII 'k', PostgreSQL need not
    ("\u212aim@example.com", "invalid email"),
    ("  ", "missing key"),
    ("a" * 300 + "@example.com", "oversized value"),
])
def test_bad_emails_are_rejected_with_a_reason_and_no_address(raw, reason):
    with pytest.raises(RowError) as caught:
        keys.email_sha256(raw)
    assert caught.value.kind == reason
    if reason == "invalid email":
        assert raw.strip() not in str(caught.value), "the message must not echo the address"


def test_delivered_hash_is_accepted_in_either_case_and_trimmed():
    digest = sha("ann@example.com")
    assert keys.parse_sha256(f"  {digest.upper()} ") == digest


@pytest.mark.parametrize(("raw", "reason"), [
    ("abc123", "malformed hash"),
    ("g" * 64, "malformed hash"),
    (sha("x")[:63], "malformed hash"),
    ("a" * 500, "oversized value"),
    (" ", "missing key"),
])
def test_malformed_hashes_are_rejected(raw, reason):
    with pytest.raises(RowError) as caught:
        keys.parse_sha256(raw)
    assert caught.value.kind == reason


def test_key_column_is_detected_from_its_name():
    assert keys.detect_key(["email_address", "income"]) == ("email", "email_address")
    assert keys.detect_key(["hashed_email", "income"]) == ("email_sha256", "hashed_email")
    assert keys.detect_key(["email", "sha256", "x"], kind="email_sha256") == ("email_sha256", "sha256")
    assert keys.detect_key(["customer_key", "x"], kind="email", column="customer_key") == ("email", "customer_key")


@pytest.mark.parametrize(("columns", "kind", "column", "message"), [
    (["income", "x"], None, None, "no key column found"),
    (["email", "email_sha256"], None, None, "choose one with --key"),
    (["email", "mail"], None, None, "several possible key columns"),
    (["customer_key"], None, "customer_key", "say what key column"),
    (["email"], None, "nope", "not in the file"),
    (["email"], "phone", None, "--key is one of"),
])
def test_ambiguous_or_missing_keys_say_how_to_choose(columns, kind, column, message):
    with pytest.raises(ValueError, match=message):
        keys.detect_key(columns, kind, column)
