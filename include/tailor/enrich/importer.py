"""Import a data vendor's delivery (CSV/Parquet) into ``enrich.vendor_attributes``.

Mirrors :mod:`tailor.source.importer`: good rows load, every bad row lands
in ``enrich.import_quarantine`` with its reason, all in one transaction. What
differs is PII: an email is hashed here (:mod:`tailor.enrich.keys`) and only
the hash is stored; quarantined rows have the address redacted.

A delivery replaces the vendor's previous one (vendors send full files, not
changes), so importing the same file twice leaves the same attributes. A
file without a single valid row keeps the previous delivery: a broken export
must not wipe what we had.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.enrich import attributes, keys
from tailor.source.validate import RowError

VENDOR_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
REDACTED = "[redacted]"
MAX_QUARANTINE_VALUE = 200  # characters of a value kept in a quarantined raw_row


class EnrichError(ValueError):
    """The delivery as a whole cannot be imported (file, key column, vendor name)."""


@dataclass
class EnrichSummary:
    """The outcome of one delivery: loaded, quarantined (why), matched."""

    import_id: str
    vendor: str
    file: str
    key_kind: str
    key_column: str
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    matched: int | None = None
    status: str = "loaded"
    replaced: int = 0  # attribute rows of the vendor's previous delivery
    by_reason: dict[str, int] = field(default_factory=dict)
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (row number, detail)
    match_note: str | None = None  # why matched is None

    @property
    def match_rate(self) -> float | None:
        if self.matched is None or not self.loaded:
            return None
        return self.matched / self.loaded

    def line(self) -> str:
        text = f"loaded {self.loaded:,} of {self.rows:,}, quarantined {self.quarantined:,}"
        if self.by_reason:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.by_reason.items())) + ")"
        if self.match_rate is not None:
            text += f"; match rate {self.match_rate:.1%} ({self.matched:,} of {self.loaded:,} keys are known customers)"
        elif self.match_note:
            text += f"; match rate unknown: {self.match_note}"
        if self.status == "rejected":
            text += f"; nothing valid, the previous delivery of '{self.vendor}' is kept"
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["match_rate"] = self.match_rate
        data.pop("reasons")
        return data


def read_delivery(path: Path) -> list[dict[str, Any]]:
    """Rows with normalised column names; CSV values are text, Parquet keeps its types (lists!)."""
    if not path.exists():
        raise EnrichError(f"Delivery file {path} does not exist.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        names, records = table.column_names, table.to_pylist()
    elif suffix in (".csv", ".csv.gz", ".txt", ".tsv"):
        import pandas as pd

        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",")
        names, records = list(frame.columns), frame.to_dict(orient="records")
    else:
        raise EnrichError(f"{path}: unsupported file type '{suffix}'; use .csv or .parquet.")
    normalized = [attributes.normalize_header(n) for n in names]
    clashes = sorted({n for n in normalized if normalized.count(n) > 1 or not n})
    if clashes:
        raise EnrichError(f"{path}: column names {clashes} are empty or repeated after normalisation "
                          "(lower-case, non-alphanumerics to '_'); rename them.")
    return [{new: record[old] for old, new in zip(names, normalized, strict=True)} for record in records]


def _quarantine_copy(row: dict[str, Any], key_kind: str, key_column: str) -> dict[str, Any]:
    """The row as it may be stored: email redacted, long values cut."""
    kept: dict[str, Any] = {}
    for column, value in row.items():
        if column == key_column and key_kind == "email" and not attributes.is_blank(value):
            kept[column] = REDACTED
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > MAX_QUARANTINE_VALUE:
            value = text[:MAX_QUARANTINE_VALUE] + f"… ({len(text)} characters)"
        kept[column] = value
    return kept


def validate_rows(
    rows: list[dict[str, Any]], key_kind: str, key_column: str, typed: dict[str, str]
) -> tuple[dict[str, dict[str, Any]], list[tuple[int, str, str]]]:
    """``(records by email_sha256, [(row number, reason, detail)])``.

    A key delivered twice with identical attributes loads once (the repeats
    are quarantined as 'duplicate row'); delivered twice with different
    attributes, none of its rows load ('duplicate key'): we cannot tell
    which statement of the vendor is right.
    """
    parse_key = keys.email_sha256 if key_kind == "email" else keys.parse_sha256
    by_key: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    bad: list[tuple[int, str, str]] = []
    for number, row in enumerate(rows, start=1):
        value = row.get(key_column)
        try:
            if attributes.is_blank(value):
                raise RowError("missing key", f"{key_column} is empty")
            digest = parse_key(str(value))
            record = attributes.parse_attributes(row, typed, key_column)
        except RowError as exc:
            bad.append((number, exc.kind, str(exc)))
            continue
        by_key[digest].append((number, record))
    good: dict[str, dict[str, Any]] = {}
    for digest, found in by_key.items():
        if len(found) == 1:
            good[digest] = found[0][1]
            continue
        numbers = ", ".join(str(n) for n, _ in found)
        first = json.dumps(found[0][1], sort_keys=True, default=str)
        if all(json.dumps(r, sort_keys=True, default=str) == first for _, r in found[1:]):
            good[digest] = found[0][1]
            bad += [(n, "duplicate row", f"repeats row {found[0][0]} (same key, same attributes)") for n, _ in found[1:]]
        else:
            bad += [(n, "duplicate key", f"the same key is on rows {numbers} with different attributes; "
                        "none of them loaded") for n, _ in found]
    return good, sorted(bad)


def import_delivery(
    path: Path | str,
    vendor: str,
    key: str | None = None,
    key_column: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> EnrichSummary:
    """Validate ``path`` and make it ``vendor``'s current delivery."""
    path = Path(path)
    vendor = vendor.strip().lower()
    if not re.match(VENDOR_PATTERN, vendor):
        raise EnrichError(f"vendor '{vendor}' must be 1-64 characters of a-z, 0-9, '_', '.', '-' (e.g. 'acme_data')")
    rows = read_delivery(path)
    columns = list(rows[0]) if rows else []
    if not columns:
        raise EnrichError(f"{path} has no rows; nothing to import (the previous delivery of '{vendor}' is kept).")
    try:
        key_kind, key_col = keys.detect_key(columns, key, attributes.normalize_header(key_column) if key_column else None)
        typed = attributes.typed_columns([c for c in columns if c != key_col])
    except ValueError as exc:
        raise EnrichError(f"{path}: {exc}") from None
    now = now or datetime.now(UTC)
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    summary = EnrichSummary(
        import_id=f"{vendor}-{now:%Y%m%dT%H%M%S%f}-{content[:10]}", vendor=vendor, file=str(path),
        key_kind=key_kind, key_column=key_col, rows=len(rows),
    )
    good, bad = validate_rows(rows, key_kind, key_col, typed)
    summary.loaded, summary.quarantined = len(good), len(bad)
    summary.by_reason = dict(Counter(reason for _, reason, _ in bad))
    summary.reasons = [(n, f"{reason}: {detail}") for n, reason, detail in bad]
    summary.status = "loaded" if good else "rejected"
    with connect("warehouse", settings) as conn:
        conn.execute(
            "insert into enrich.import_runs (import_id, vendor, file, file_sha256, key_kind, key_column, rows, "
            "loaded, quarantined, by_reason, status, imported_at) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
            (summary.import_id, vendor, str(path), content, key_kind, key_col, summary.rows, summary.loaded,
             summary.quarantined, json.dumps(summary.by_reason), summary.status, now),
        )
        if good:
            summary.replaced = conn.execute("delete from enrich.vendor_attributes where vendor = %s", (vendor,)).rowcount
            _copy_attributes(conn, vendor, summary.import_id, now, good)
            summary.matched, summary.match_note = _count_matches(conn, vendor)
            conn.execute(
                "update enrich.import_runs set matched = %s, match_rate = %s where import_id = %s",
                (summary.matched, None if summary.match_rate is None else round(Decimal(summary.match_rate), 4),
                 summary.import_id),
            )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into enrich.import_quarantine (import_id, row_number, reason, detail, raw_row) "
                "values (%s, %s, %s, %s, %s::jsonb)",
                [(summary.import_id, n, reason, detail,
                  json.dumps(_quarantine_copy(rows[n - 1], key_kind, key_col), default=str))
                 for n, reason, detail in bad],
            )
    return summary


def _copy_attributes(conn: psycopg.Connection, vendor: str, import_id: str, now: datetime,
                     records: dict[str, dict[str, Any]]) -> None:
    columns = ("vendor", "email_sha256", "import_id", "income_band", "household_size", "home_owner", "interests",
               "extra_attributes", "delivered_at")
    with conn.cursor().copy(f"copy enrich.vendor_attributes ({', '.join(columns)}) from stdin") as copy:
        for digest, record in records.items():
            copy.write_row((vendor, digest, import_id, record["income_band"], record["household_size"],
                            record["home_owner"], record["interests"],
                            json.dumps(record["extra_attributes"], default=str), now))


def _count_matches(conn: psycopg.Connection, vendor: str) -> tuple[int | None, str | None]:
    """Delivered keys equal to a known customer's hashed normalised email.

    Compared in SQL (the same expression dbt uses) against the warehouse's
    current customers, so the figure agrees with what the models will join.
    """
    try:
        with conn.transaction():  # a savepoint: a missing view must not abort the import
            (matched,) = conn.execute(
                """
                select count(*)
                from enrich.vendor_attributes
                where vendor = %s
                  and email_sha256 in (
                      select encode(sha256(convert_to(email_normalized, 'UTF8')), 'hex')
                      from staging.stg_shop__customers
                      where email_normalized is not null
                  )
                """,
                (vendor,),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return None, "staging.stg_shop__customers is not built yet (run 'tailor dbt build -s staging')"
    return int(matched), None
