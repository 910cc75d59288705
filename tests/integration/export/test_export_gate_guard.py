"""Nothing leaves the warehouse unless the quality gate passed on this very audience."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from export_fixtures import eml_files, pass_gate

from tailor.db.connect import connect
from tailor.export.csvfile import export_csv
from tailor.export.send import send_campaign
from tailor.quality.record import GateNotPassedError, audience_fingerprint, record_gate_run

pytestmark = pytest.mark.integration
DAY = date(2024, 5, 6)


def _record(settings, passed: bool, failed: list[str]) -> None:
    with connect("warehouse", settings) as conn:
        record_gate_run(
            conn, logical_date=datetime.now(UTC), passed=passed,
            fingerprint=audience_fingerprint(conn), failed_checks=failed, data_docs=None,
        )


def test_no_gate_run_means_no_export(audience_db):
    with connect("warehouse", audience_db) as conn:
        conn.execute("truncate audit.gate_runs")
    with pytest.raises(GateNotPassedError, match="never been through the quality gate"):
        send_campaign(audience_db, DAY)
    with pytest.raises(GateNotPassedError):
        export_csv(audience_db, DAY)
    assert eml_files(audience_db.outbox_dir / DAY.isoformat()) == []


def test_failed_gate_blocks_and_names_the_check(audience_db):
    _record(audience_db, passed=False, failed=["customer_profiles: person_id is unique (2 duplicates)"])
    with pytest.raises(GateNotPassedError, match="person_id is unique"):
        send_campaign(audience_db, DAY)
    assert eml_files(audience_db.outbox_dir / DAY.isoformat()) == []


def test_audience_changed_after_the_gate_is_blocked(audience_db):
    with connect("warehouse", audience_db) as conn:
        conn.execute("update marts.sync_email__audience set segment = 'at_risk' where person_id = 'p1'")
    with pytest.raises(GateNotPassedError, match="changed since the last passed gate run"):
        send_campaign(audience_db, DAY)
    pass_gate(audience_db)  # the gate looks at the new audience and passes it
    assert send_campaign(audience_db, DAY).sent == 6


def test_dry_run_needs_no_gate(audience_db):
    with connect("warehouse", audience_db) as conn:
        conn.execute("truncate audit.gate_runs")
    assert send_campaign(audience_db, DAY, dry_run=True).sent == 6
