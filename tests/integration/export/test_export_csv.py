"""CSV destination against the real warehouse: files per segment, consent re-checked, idempotent."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from export_fixtures import set_contactability

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.export.csvfile import export_csv

pytestmark = pytest.mark.integration


def test_csv_files_written_per_segment_and_rewritten_identically(audience_db: Settings) -> None:
    set_contactability(audience_db, "p6", False, "suppressed: complaint")
    summary = export_csv(audience_db, date(2024, 5, 6))
    folder = audience_db.exports_dir / "2024-05-06"
    assert sorted(p.name for p in summary.csv_paths) == [
        "at_risk.csv", "audience.csv", "cart_abandoners.csv", "champions.csv", "new_customers.csv",
    ]  # fmt: skip
    with (folder / "audience.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["person_id"] for r in rows] == [
        "p1",
        "p5",
        "p2",
        "p3",
        "p4",
    ]  # priority order, p6 suppressed
    assert rows[2]["first_name"] == "" and rows[0]["monetary"] == "99.5"
    with (folder / "at_risk.csv").open(newline="") as handle:
        assert [r["person_id"] for r in csv.DictReader(handle)] == ["p2"]
    assert summary.skipped == {"suppressed": 1}

    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    export_csv(audience_db, date(2024, 5, 6))
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == before
    with connect("warehouse", audience_db) as conn:
        runs = conn.execute(
            "select destination, status, rows_total, rows_sent, rows_skipped from audit.export_runs"
        ).fetchall()
    assert runs == [("csv", "succeeded", 6, 5, 1)] * 2
