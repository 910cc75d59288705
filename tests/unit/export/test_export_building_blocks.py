"""Export building blocks that need no services: SMTP URLs, error classes, ids, headers, CSV."""

from __future__ import annotations

import smtplib
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from tailor.content.render import RenderedEmail
from tailor.export.csvfile import write_csv_files
from tailor.export.message import build_message, campaign_key, message_id
from tailor.export.smtp import (
    PermanentSendError,
    SmtpConfigError,
    TransientSendError,
    classify,
    parse_smtp_url,
)


def test_smtp_url_starttls_with_auth() -> None:
    t = parse_smtp_url("smtp://user%40corp:p%3Ass@relay.example:587?starttls=true&timeout=5")
    assert (t.host, t.port, t.starttls, t.implicit_tls) == ("relay.example", 587, True, False)
    assert (t.username, t.password, t.timeout) == ("user@corp", "p:ss", 5.0)
    assert "p:ss" not in t.describe()


def test_smtps_defaults_to_465_and_plain_to_25() -> None:
    assert parse_smtp_url("smtps://u:p@relay.example").port == 465
    assert parse_smtp_url("smtps://relay.example").implicit_tls
    assert parse_smtp_url("smtp://127.0.0.1").port == 25


@pytest.mark.parametrize(
    "url", ["http://relay.example", "smtp://", "smtps://h?starttls=true", "smtp://h:notaport"]
)
def test_bad_smtp_urls_say_what_to_do(url: str) -> None:
    with pytest.raises(SmtpConfigError):
        parse_smtp_url(url)


def test_bad_url_error_never_shows_the_password() -> None:
    with pytest.raises(SmtpConfigError) as info:
        parse_smtp_url("http://user:secret@relay.example")
    assert "secret" not in str(info.value)


def test_classify_4xx_transient_5xx_permanent() -> None:
    assert isinstance(classify(smtplib.SMTPDataError(451, b"try later")), TransientSendError)
    assert isinstance(classify(smtplib.SMTPDataError(554, b"spam")), PermanentSendError)
    refused = smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")})
    mapped = classify(refused)
    assert (
        isinstance(mapped, PermanentSendError)
        and mapped.code == 550
        and "no such user" in str(mapped)
    )
    assert isinstance(classify(smtplib.SMTPServerDisconnected("gone")), TransientSendError)
    assert classify(ValueError("x")) is None


def test_message_id_is_deterministic_per_campaign_key_and_person() -> None:
    key = campaign_key("weekly", date(2024, 5, 6))
    assert key == "weekly:2024-05-06"
    first = message_id(key, "p1", "Shop <hello@shop.example>")
    assert first == message_id(key, "p1", "Shop <hello@shop.example>")
    assert first.endswith("@shop.example>")
    assert first != message_id(key, "p2", "Shop <hello@shop.example>")
    assert first != message_id("weekly:2024-05-07", "p1", "Shop <hello@shop.example>")


def test_message_has_both_parts_and_unsubscribe_headers() -> None:
    rendered = RenderedEmail(
        "Hi Anna", "pre", "<p>Hi Anna</p>", "Hi Anna\n", "https://shop.example/u?t=abc"
    )
    msg = build_message(
        rendered,
        to="anna@example.com",
        to_name="Anna Schmidt",
        smtp_from="Shop <hello@shop.example>",
        msg_id="<abc@shop.example>",
        sent_at=datetime(2024, 5, 6, tzinfo=UTC),
        unsubscribe_mailto="unsubscribe@shop.example",
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=default_policy)
    assert parsed["Message-ID"] == "<abc@shop.example>"
    assert parsed["To"] == "Anna Schmidt <anna@example.com>"
    unsubscribe = parsed["List-Unsubscribe"]
    assert "<mailto:unsubscribe@shop.example?subject=unsubscribe%20abc>" in unsubscribe
    assert "<https://shop.example/u?t=abc>" in unsubscribe
    assert "=?utf-8?" not in msg.as_string()  # not mangled into encoded-words
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_body(("plain",)).get_content() == "Hi Anna\n"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi Anna</p>"


def test_csv_files_per_segment_rewritten_identically(tmp_path: Path) -> None:
    rows = [
        {"person_id": "p1", "email": "a@example.com", "segment": "champions", "first_name": None},
        {
            "person_id": "p2",
            "email": "b@example.com",
            "segment": "at_risk",
            "first_name": "Bo, Jr.",
        },
    ]
    cols = ["person_id", "email", "segment", "first_name"]
    paths = write_csv_files(tmp_path, rows, cols)
    assert sorted(p.name for p in paths) == ["at_risk.csv", "audience.csv", "champions.csv"]
    before = {p.name: p.read_bytes() for p in paths}
    assert (
        before["at_risk.csv"]
        == b'person_id,email,segment,first_name\np2,b@example.com,at_risk,"Bo, Jr."\n'
    )
    # same content again: same bytes; a segment that disappeared loses its file
    write_csv_files(tmp_path, rows, cols)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")} == before
    write_csv_files(tmp_path, rows[:1], cols)
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["audience.csv", "champions.csv"]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
