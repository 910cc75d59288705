"""File destination: the audience as CSV, one file per segment plus ``audience.csv``.

Files go to ``exports_dir/<YYYY-MM-DD>/`` and are fully rewritten on every
run of that logical date (written to a temporary file, then renamed), so a
re-run produces the same bytes for the same audience and never leaves a
half-written file or a stale segment behind. Consent is re-checked here too:
a file is an exit like any other.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.export import consent, ledger
from tailor.export.audience import AUDIENCE_COLUMNS, build_audience
from tailor.export.summary import ExportSummary

Progress = Callable[[int, int], None]
BATCH = 1000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _segment_file(segment: Any) -> str:
    name = (
        re.sub(r"[^a-z0-9_]+", "_", str(segment or "unassigned").lower()).strip("_") or "unassigned"
    )
    return "audience_" if name == "audience" else name  # never clobber audience.csv


def _write_atomic(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".csv.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_files(
    directory: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] = AUDIENCE_COLUMNS
) -> list[Path]:
    """Write ``audience.csv`` and ``<segment>.csv`` files; remove segment files no longer present."""
    directory.mkdir(parents=True, exist_ok=True)
    by_segment: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_segment.setdefault(_segment_file(row.get("segment")), []).append(row)
    written = [directory / "audience.csv"]
    _write_atomic(written[0], rows, columns)
    for name in sorted(by_segment):
        path = directory / f"{name}.csv"
        _write_atomic(path, by_segment[name], columns)
        written.append(path)
    keep = {p.name for p in written}
    for stale in directory.glob("*.csv"):
        if stale.name not in keep:
            stale.unlink()
    return written


def export_csv(
    settings: Settings,
    logical_date: date,
    campaign: str = "weekly",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the consenting audience of ``logical_date`` as CSV files; audit the run."""
    started = time.monotonic()
    day = logical_date.strftime("%Y-%m-%d")
    summary = ExportSummary("csv", campaign, day, dry_run=dry_run)
    rows = build_audience(settings, logical_date, require_gate=not dry_run)
    summary.total = len(rows)
    keep: list[dict[str, Any]] = []
    with connect("warehouse", settings) as conn:
        run_id = None if dry_run else ledger.start_run(conn, "csv", campaign, logical_date)
        try:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                decisions = consent.check_contactability(conn, batch)
                denied = [d for d in decisions.values() if not d.allowed]
                if run_id is not None and denied:
                    consent.record_decisions(conn, denied, run_id)
                for row in batch:
                    decision = decisions[row["person_id"]]
                    if decision.allowed:
                        keep.append(row)
                    else:
                        summary.skipped[decision.reason] += 1
                if progress:
                    progress(min(start + BATCH, len(rows)), len(rows))
            directory = settings.exports_dir / day
            summary.sent = len(keep)
            if not dry_run:
                summary.csv_paths = write_csv_files(directory, keep)
        except Exception as exc:
            if run_id is not None:
                conn.rollback()
                ledger.finish_run(
                    conn,
                    run_id,
                    status="failed",
                    rows_total=summary.total,
                    rows_sent=0,
                    rows_skipped=summary.skipped_total,
                    rows_failed=0,
                    details={"error": f"{type(exc).__name__}: {exc}"},
                )
            raise
        summary.duration_s = time.monotonic() - started
        if run_id is not None:
            summary.export_run_ids.append(run_id)
            ledger.finish_run(
                conn,
                run_id,
                status=summary.status,
                rows_total=summary.total,
                rows_sent=summary.sent,
                rows_skipped=summary.skipped_total,
                rows_failed=0,
                details={
                    "skipped": dict(summary.skipped),
                    "csv_paths": [str(p) for p in summary.csv_paths],
                },
            )
    return summary
