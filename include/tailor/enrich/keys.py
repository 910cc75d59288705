"""The match key of a vendor delivery: SHA-256 of the normalised email.

The rule, identical on both sides so a hash computed here equals the one dbt
computes from ``stg_shop__customers.email_normalized``:

1. trim leading and trailing spaces (U+0020 only: SQL ``trim()``),
2. lower-case (ASCII only: an address must be ASCII, see 3),
3. the result must match the warehouse's email pattern (dbt macro
   ``email_regex``), so an address valid here is valid there and Python's
   and PostgreSQL's ``lower`` cannot disagree on it,
4. SHA-256 of its UTF-8 bytes, lower-case hex.

SQL: ``encode(sha256(convert_to(lower(trim(email)), 'UTF8')), 'hex')``.
A vendor delivering hashes must apply steps 1, 2 and 4 the same way.
"""

from __future__ import annotations

import hashlib
import re

from tailor.source.validate import RowError

# Same pattern as dbt_project/macros/email.sql `email_regex()`.
EMAIL_PATTERN = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit

KEY_KINDS = ("email", "email_sha256")
# Column names (after header normalisation) recognised as each key kind.
KEY_COLUMNS = {
    "email": ("email", "email_address", "e_mail", "mail"),
    "email_sha256": ("email_sha256", "sha256_email", "email_hash", "hashed_email", "sha256", "hem"),
}


def normalize_email(value: str) -> str | None:
    """``lower(trim(value))`` as PostgreSQL computes it; ``None`` when empty."""
    text = value.strip(" ")
    return text.lower() if text else None


def email_sha256(value: str) -> str:
    """The match key of a plain address (raises :class:`RowError` if it is not one)."""
    if len(value) > MAX_EMAIL_LENGTH:
        raise RowError("oversized value", f"email is {len(value)} characters; at most {MAX_EMAIL_LENGTH}")
    normalized = normalize_email(value)
    if normalized is None:
        raise RowError("missing key", "email is empty")
    # ASCII checked before lower-casing too: str.lower() maps e.g. the Kelvin
    # sign to 'k', which PostgreSQL's lower() need not do.
    if not value.isascii() or not EMAIL_PATTERN.match(normalized):
        raise RowError("invalid email", "email is not a valid address (value withheld: PII)")
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def parse_sha256(value: str) -> str:
    """A delivered hash, lower-cased (raises :class:`RowError` if malformed)."""
    text = value.strip()
    if not text:
        raise RowError("missing key", "email_sha256 is empty")
    if len(text) > 128:
        raise RowError("oversized value", f"email_sha256 is {len(text)} characters; a SHA-256 hex digest has 64")
    digest = text.lower()
    if not HASH_PATTERN.match(digest):
        raise RowError("malformed hash", f"email_sha256 '{text}' is not 64 hexadecimal characters (SHA-256 hex)")
    return digest


def detect_key(columns: list[str], kind: str | None = None, column: str | None = None) -> tuple[str, str]:
    """``(kind, column)`` of the key among normalised ``columns``.

    Raises ``ValueError`` saying what was found and how to choose.
    """
    if kind is not None and kind not in KEY_KINDS:
        raise ValueError(f"--key is one of {', '.join(KEY_KINDS)}, not '{kind}'")
    if column is not None:
        if column not in columns:
            raise ValueError(f"key column '{column}' is not in the file; columns: {', '.join(columns)}")
        if kind is None:
            kind = next((k for k, names in KEY_COLUMNS.items() if column in names), None)
            if kind is None:
                raise ValueError(f"say what key column '{column}' holds: --key email or --key email_sha256")
        return kind, column
    found = {k: [c for c in columns if c in names] for k, names in KEY_COLUMNS.items()}
    kinds = [kind] if kind else [k for k in KEY_KINDS if found[k]]
    if not kinds or not found[kinds[0]]:
        wanted = ", ".join(KEY_COLUMNS[kind] if kind else [n for names in KEY_COLUMNS.values() for n in names])
        raise ValueError(f"no key column found (looked for {wanted}); columns: {', '.join(columns)}. "
                         "Name it with --key-column.")
    if len(kinds) > 1:
        raise ValueError(f"the file has both an email column ({found['email'][0]}) and a hash column "
                         f"({found['email_sha256'][0]}); choose one with --key email or --key email_sha256")
    if len(found[kinds[0]]) > 1:
        raise ValueError(f"several possible key columns ({', '.join(found[kinds[0]])}); choose one with --key-column")
    return kinds[0], found[kinds[0]][0]
