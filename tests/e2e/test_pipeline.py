"""The whole pipeline, for real: seed -> Debezium -> dbt -> GX gate -> SMTP.

Runs every DAG through Airflow (`airflow dags test`) on a small seed, checks
the emails and the warehouse, then adds a day of activity and checks that it
flows through incrementally without landing anything twice or mailing anyone
twice on the same day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from tailor.db.connect import connect
from tailor.runner import run_pipeline
from tailor.source.generate import seed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _messages(outbox):
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]


def _consented_emails(settings) -> set[str]:
    """Normalised addresses whose latest email_marketing consent is granted (straight from the shop)."""
    with connect("shop", settings) as conn:
        rows = conn.execute(
            """
            select distinct lower(trim(c.email))
            from customers c
            join lateral (
                select status from consents k
                where k.customer_id = c.customer_id and k.purpose = 'email_marketing'
                order by recorded_at desc, consent_id desc limit 1
            ) latest on true
            where latest.status = 'granted'
            """
        ).fetchall()
    return {r[0] for r in rows}


def test_pipeline_end_to_end_and_incremental(fresh_db):
    settings = fresh_db
    seed(settings, customers=400, days=60, seed=7)
    logical_date = datetime.now(UTC).replace(microsecond=0)

    runs = run_pipeline(logical_date=logical_date, settings=settings)
    assert [r.state for r in runs] == ["success"] * 4, [(r.dag_id, r.error, str(r.log_file)) for r in runs]

    with connect("warehouse", settings) as conn:
        raw_rows = conn.execute("select count(*) from raw.cdc_events").fetchone()[0]
        profiles = conn.execute("select count(*) from marts.customer_profiles").fetchone()[0]
        audience = conn.execute("select count(*) from marts.sync_email__audience").fetchone()[0]
        # people can share an address the identity graph does not merge on
        # (a guardrail); the inbox gets the campaign once
        inboxes = conn.execute(
            "select count(distinct lower(trim(email))) from marts.sync_email__audience"
        ).fetchone()[0]
    with connect("shop", settings) as conn:
        customers = conn.execute("select count(*) from customers").fetchone()[0]
    assert raw_rows > customers
    assert 0 < profiles <= customers
    assert audience > 0

    outbox = settings.outbox_dir / logical_date.strftime("%Y-%m-%d")
    messages = _messages(outbox)
    assert len(messages) == inboxes
    allowed = _consented_emails(settings)
    for message in messages:
        assert message["To"].addresses[0].addr_spec.lower() in allowed, "emailed without consent"
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "None" not in body and "{{" not in body
        assert re.search(r"^(Hi|Hello|Dear) \S", body, re.MULTILINE), body[:200]
    csv_dir = settings.exports_dir / logical_date.strftime("%Y-%m-%d")
    assert (csv_dir / "audience.csv").exists()

    # --- a second change flows through incrementally -------------------------
    before = raw_rows
    summary = seed(settings, customers=400, days=1, seed=8)
    assert summary.mode == "incremental"
    runs = run_pipeline(logical_date=logical_date, settings=settings)
    assert [r.state for r in runs] == ["success"] * 4, [(r.dag_id, r.error, str(r.log_file)) for r in runs]
    with connect("warehouse", settings) as conn:
        after = conn.execute("select count(*) from raw.cdc_events").fetchone()[0]
        duplicates = conn.execute(
            "select count(*) from (select 1 from raw.cdc_events group by source_table, source_lsn, pk, op having count(*) > 1) d"
        ).fetchone()[0]
        latest_order = conn.execute("select max(ordered_at) from staging.stg_shop__orders").fetchone()[0]
    with connect("shop", settings) as conn:
        shop_latest_order = conn.execute("select max(ordered_at) from orders").fetchone()[0]
    assert after > before, "the new day's changes were captured"
    assert duplicates == 0
    assert latest_order == shop_latest_order, "staging reflects the newest order"
    # Same campaign, same day: nobody is mailed twice.
    recipients = [m["To"].addresses[0].addr_spec.lower() for m in _messages(outbox)]
    assert len(recipients) == len(set(recipients))
