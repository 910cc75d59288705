"""Import a shop's own CSV/Parquet exports into the ``shop`` tables.

Good rows load; every bad row lands in ``import_quarantine`` with the reason,
in the same transaction, so an import is never half-done and never silently
lossy. The summary says ``loaded N, quarantined M`` with counts by reason.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source import validate
from tailor.source.mapping import Mapping, MappingError, load_mapping

TARGET = {"customers": "customers", "orders": "orders", "events": "web_events"}


@dataclass
class ImportSummary:
    """The outcome of one import: what loaded, what was quarantined and why."""

    import_id: str
    entity: str
    file: str
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)

    def line(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_reason.items()))
        text = f"loaded {self.loaded}, quarantined {self.quarantined}"
        if reasons:
            text += f" ({reasons})"
        if self.duplicates:
            text += f", {self.duplicates} already imported (same message_id)"
        return text


def read_rows(path: Path) -> pd.DataFrame:
    """The file as strings (CSV or Parquet): validation decides what a value means."""
    if not path.exists():
        raise MappingError(f"Data file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
        return frame.astype(object).where(frame.notna(), None).map(lambda v: None if v is None else str(v))
    if suffix in (".csv", ".txt", ".tsv"):
        return pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if suffix == ".tsv" else ",")
    raise MappingError(f"{path}: unsupported file type '{suffix}'; use .csv or .parquet.")


def import_file(
    entity: str,
    path: Path | str,
    mapping: Mapping | Path | str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Validate and load ``path`` as ``entity`` (customers | orders | events)."""
    path = Path(path)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(entity, mapping)
    frame = read_rows(path)
    rename, unknown = mapping.resolve(list(frame.columns))
    now = now or validate.utc_now()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    summary = ImportSummary(
        import_id=f"{entity}-{now:%Y%m%dT%H%M%S}-{digest}", entity=entity, file=str(path),
        rows=len(frame), unknown_columns=unknown,
    )
    raw_rows = frame.to_dict(orient="records")
    good: list[dict[str, object]] = []
    bad: list[tuple[int, dict, str]] = []
    reasons: Counter[str] = Counter()
    with connect("shop", settings) as conn:
        known: set[int] = set()
        if entity == "orders":
            known = {r[0] for r in conn.execute("select customer_id from customers")}
        for number, raw in enumerate(raw_rows, start=1):
            row = {rename[k]: ("" if v is None else str(v)) for k, v in raw.items() if k in rename}
            for key, value in mapping.defaults.items():
                if not row.get(key, "").strip():
                    row[key] = value
            try:
                if entity == "customers":
                    record = validate.customer(row, mapping, now)
                elif entity == "orders":
                    record = validate.order(row, mapping, now, known)
                else:
                    record = validate.event(row, mapping, now)
            except validate.RowError as exc:
                reasons[exc.kind] += 1
                bad.append((number, raw, str(exc)))
                continue
            good.append(record)
        summary.duplicates = _insert(conn, entity, good)
        summary.loaded = len(good) - summary.duplicates
        with conn.cursor() as cur:
            cur.executemany(
                "insert into import_quarantine (import_id, entity, row_number, raw_row, reason) "
                "values (%s, %s, %s, %s::jsonb, %s)",
                [(summary.import_id, entity, n, json.dumps(raw, default=str), reason) for n, raw, reason in bad],
            )
    summary.quarantined = len(bad)
    summary.by_reason = dict(reasons)
    summary.reasons = [(n, reason) for n, _, reason in bad]
    return summary


def _insert(conn, entity: str, records: list[dict[str, object]]) -> int:
    """Insert validated records; returns how many were skipped as already present."""
    if not records:
        return 0
    table = TARGET[entity]
    columns = list(records[0])
    if entity == "events":
        statement = (f"insert into {table} ({', '.join(columns)}) values ({', '.join(['%s'] * len(columns))}) "
                     "on conflict (message_id) do nothing")
        skipped = 0
        with conn.cursor() as cur:
            for record in records:
                cur.execute(statement, list(record.values()))
                skipped += cur.rowcount == 0
        return skipped
    with conn.cursor().copy(f"copy {table} ({', '.join(columns)}) from stdin") as copy:
        for record in records:
            copy.write_row([record[c] for c in columns])
    return 0
