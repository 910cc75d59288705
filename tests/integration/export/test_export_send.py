"""send_campaign against the real warehouse and a real SMTP server (embedded sink or a test relay)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from export_fixtures import PEOPLE, eml_files, pass_gate, set_contactability
from export_smtp_handlers import RecordingHandler

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.export.message import campaign_key, message_id
from tailor.export.send import send_campaign
from tailor.export.sink import smtp_server

pytestmark = pytest.mark.integration
DAY = date(2024, 5, 6)


def read_eml(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[return-value]


def by_recipient(folder: Path) -> dict[str, EmailMessage]:
    return {str(m["To"].addresses[0].addr_spec): m for m in map(read_eml, eml_files(folder))}


def results(settings: Settings) -> dict[str, tuple[str, str | None]]:
    with connect("warehouse", settings) as conn:
        return {
            pid: (status, detail)
            for pid, status, detail in conn.execute(
                "select person_id, status, detail from audit.export_results"
            )
        }


def test_emails_land_in_the_outbox_with_tokens_and_fallbacks(audience_db: Settings) -> None:
    summary = send_campaign(audience_db, DAY)
    assert summary.sent == 6 and summary.failed == 0 and not summary.skipped
    assert summary.outbox == audience_db.outbox_dir / "2024-05-06"
    mails = by_recipient(summary.outbox)
    assert len(mails) == 6

    anna = mails["anna@example.com"]
    assert anna["Subject"] == "Anna, early access is yours"
    assert str(anna["To"]) == "Anna Schmidt <anna@example.com>"
    assert anna["Message-ID"] == message_id(
        campaign_key("weekly", DAY), "p1", audience_db.smtp_from
    )
    assert "unsubscribe?t=" in anna["List-Unsubscribe"]
    html = anna.get_body(("html",)).get_content()
    assert "Hi Anna," in html and "VIP early access" in html
    assert 'class="greeting" style="' in html and ".greeting {" not in html  # CSS inlined

    noname = mails["noname@example.com"]  # first_name null
    assert "Hi there," in noname.get_body(("plain",)).get_content()
    assert noname["Subject"] == "We miss you, friend: 15% off inside"
    blank = mails["blank@example.com"]  # first_name whitespace
    assert "Hi there," in blank.get_body(("plain",)).get_content()
    assert str(blank["To"]) == "blank@example.com"
    for mail in mails.values():
        for part in (
            mail.get_body(("plain",)).get_content(),
            mail.get_body(("html",)).get_content(),
            mail["Subject"],
        ):
            assert "None" not in part and "Hi ," not in part

    assert set(results(audience_db).values()) == {("sent", None)}
    with connect("warehouse", audience_db) as conn:
        run = conn.execute(
            "select status, rows_total, rows_sent, rows_failed from audit.export_runs"
        ).fetchall()
    assert run == [("succeeded", 6, 6, 0)]


def test_consent_is_rechecked_at_send_time(audience_db: Settings) -> None:
    # the audience was built with everyone consenting; two change their minds before the send
    set_contactability(audience_db, "p5", False, "unsubscribed")
    set_contactability(audience_db, "p6", False, "hard_bounce")
    summary = send_campaign(audience_db, DAY)
    assert summary.sent == 4
    assert dict(summary.skipped) == {"consent_withdrawn": 1, "suppressed": 1}
    assert {"carla@example.com", "dave@example.com"}.isdisjoint(by_recipient(summary.outbox))  # type: ignore[arg-type]
    with connect("warehouse", audience_db) as conn:
        denied = conn.execute(
            "select person_id, email, purpose, reason from audit.consent_decisions where decision = 'deny' order by 1"
        ).fetchall()
        allowed = conn.execute(
            "select count(*) from audit.consent_decisions where decision = 'allow'"
        ).fetchone()
    assert denied == [
        ("p5", "carla@example.com", "email_marketing", "consent_withdrawn"),
        ("p6", "dave@example.com", "email_marketing", "suppressed"),
    ]
    assert allowed == (4,)
    assert results(audience_db)["p5"] == ("skipped", "consent_withdrawn: unsubscribed")


def test_second_run_for_the_same_logical_date_sends_nothing(audience_db: Settings) -> None:
    first = send_campaign(audience_db, DAY)
    files_before = {p.name: p.stat().st_mtime_ns for p in eml_files(first.outbox)}  # type: ignore[arg-type]
    second = send_campaign(audience_db, DAY)
    assert (first.sent, second.sent) == (6, 0)
    assert second.skipped["already_sent"] == 6
    assert {
        p.name: p.stat().st_mtime_ns for p in eml_files(second.outbox or first.outbox)
    } == files_before  # type: ignore[arg-type]
    # a new logical date is a new send
    assert send_campaign(audience_db, date(2024, 5, 13)).sent == 6


def add_person(settings: Settings, person_id: str, email: str) -> None:
    """Another audience row (and contactable), the gate passed again on the new audience."""
    with connect("warehouse", settings) as conn:
        conn.execute(
            "insert into marts.sync_email__audience select %s, %s, first_name, last_name, city, country, "
            "timezone, segment, segment_priority, favourite_category, recency_days, frequency, monetary, "
            "last_order_at, computed_at from marts.sync_email__audience where person_id = 'p4'",
            (person_id, email),
        )
        conn.execute("insert into public.test_contact_state values (%s, %s, true, 'opted_in')", (person_id, email))
    pass_gate(settings)


def test_one_inbox_gets_a_campaign_once_whoever_holds_the_address(audience_db: Settings) -> None:
    """Person ids alone let an inbox get the same campaign twice: two people sharing an
    address in one audience, or an address moving to a person not yet mailed (an email edit,
    a merge) between two runs of the day."""
    add_person(audience_db, "p7", " Anna@Example.com")  # shares p1's inbox
    first = send_campaign(audience_db, DAY)
    assert (first.sent, dict(first.skipped)) == (6, {"address_already_sent": 1})

    add_person(audience_db, "p8", "bob@example.com")  # p4's address, now also p8's
    second = send_campaign(audience_db, DAY)
    assert second.sent == 0
    assert dict(second.skipped) == {"already_sent": 6, "address_already_sent": 2}
    recipients = [str(m["To"].addresses[0].addr_spec).lower() for m in map(read_eml, eml_files(first.outbox))]
    assert sorted(recipients) == sorted({p[1] for p in PEOPLE})


def test_5xx_rejection_is_a_row_failure_and_retried_next_run(audience_db: Settings) -> None:
    handler = RecordingHandler(reject={"blank@example.com"})
    with smtp_server(handler) as (host, port):
        relay = dataclasses.replace(audience_db, smtp_url=f"smtp://{host}:{port}")
        summary = send_campaign(relay, DAY, retry_backoff_s=0.01)
        assert summary.failed == 1 and summary.sent == 5
        assert summary.failures[0]["person_id"] == "p3"
        assert handler.attempts["blank@example.com"] == 1  # permanent: not retried
        status, detail = results(audience_db)["p3"]
        assert status == "failed" and "550" in (detail or "")
        assert "blank@example.com" not in handler.recipients()
        assert summary.outbox is None and not eml_files(audience_db.outbox_dir / "2024-05-06")

        handler.reject.clear()  # the mailbox exists again: a re-run retries only the failed row
        again = send_campaign(relay, DAY, retry_backoff_s=0.01)
    assert (again.sent, again.failed, again.skipped["already_sent"]) == (1, 0, 5)
    assert handler.recipients().count("blank@example.com") == 1
    assert results(audience_db)["p3"][0] == "sent"
    with connect("warehouse", audience_db) as conn:
        runs = conn.execute(
            "select status from audit.export_runs order by export_run_id"
        ).fetchall()
    assert runs == [("partial",), ("succeeded",)]


def test_template_error_fails_only_that_row(audience_db: Settings, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(audience_db.templates_dir, root / "include" / "templates")
    (root / "include" / "templates" / "email" / "blocks" / "new_customers.html.j2").write_text(
        "{{ oops.missing }}"
    )
    broken = dataclasses.replace(audience_db, project_root=root)
    summary = send_campaign(broken, DAY)
    assert (summary.sent, summary.failed) == (5, 1)
    status, detail = results(audience_db)["p4"]
    assert (
        status == "failed"
        and (detail or "").startswith("render_error")
        and "oops" in (detail or "")
    )


def test_dry_run_renders_but_sends_and_records_nothing(audience_db: Settings) -> None:
    set_contactability(audience_db, "p5", False, "unsubscribed")
    summary = send_campaign(audience_db, DAY, dry_run=True)
    assert (summary.sent, dict(summary.skipped)) == (5, {"consent_withdrawn": 1})
    assert not eml_files(audience_db.outbox_dir / "2024-05-06")
    with connect("warehouse", audience_db) as conn:
        counts = conn.execute(
            "select (select count(*) from audit.export_runs), (select count(*) from audit.export_results),"
            " (select count(*) from audit.consent_decisions)"
        ).fetchone()
    assert counts == (0, 0, 0)


def test_missing_audience_mart_says_how_to_build_it(fresh_db: Settings) -> None:
    from tailor.export.audience import AudienceMissingError

    with pytest.raises(AudienceMissingError, match="tailor run tailor_transform"):
        send_campaign(fresh_db, DAY)
