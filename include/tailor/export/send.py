"""The SMTP destination: render and send one campaign to the audience of a logical date.

Order of work per recipient: already sent for this campaign key? -> consent
still allows it (checked in batches at send time)? -> render -> pace -> send
-> record. Every outcome is upserted into ``audit.export_results`` and
committed right after the SMTP transaction, so a re-run of the same logical
date sends nothing twice; a crash between the relay's '250' and that commit
is the only window for a duplicate, and the deterministic Message-Id lets
receivers collapse it.

Embedded mode (no ``TAILOR_SMTP_URL``) starts a real local SMTP server for
the duration of the send; messages travel over SMTP into
``outbox_dir/<YYYY-MM-DD>/<message-id>.eml``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from email.utils import parseaddr
from typing import Any

import psycopg

from tailor.config import Settings
from tailor.content.campaign import Campaign, load_campaign
from tailor.content.render import TemplateRenderError, render_email
from tailor.content.tokens import fallback
from tailor.db.connect import connect
from tailor.export import consent, ledger
from tailor.export.audience import build_audience
from tailor.export.message import build_message, campaign_key, message_id, message_token
from tailor.export.ratelimit import SendRateLimiter
from tailor.export.sink import outbox_sink
from tailor.export.smtp import (
    PermanentSendError,
    SmtpSender,
    SmtpTarget,
    TransientSendError,
    parse_smtp_url,
)
from tailor.export.summary import ExportSummary

Progress = Callable[[int, int], None]
# After this many recipients in a row fail on the connection itself, the relay is
# down: stop instead of burning every row's retries; a re-run picks up the rest.
MAX_CONSECUTIVE_CONNECTION_FAILURES = 5


class RelayUnavailableError(ConnectionError):
    """The SMTP relay kept failing at the connection level; the run stopped early."""


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _display_name(row: dict[str, Any]) -> str | None:
    name = " ".join(
        p for p in (fallback(row.get("first_name")), fallback(row.get("last_name"))) if p
    )
    return name or None


class _Delivery:
    """Per-run state shared by the rows: connection, sender, limiter, summary."""

    def __init__(
        self,
        *,
        conn: psycopg.Connection,
        settings: Settings,
        campaign: Campaign,
        key: str,
        summary: ExportSummary,
        run_id: int | None,
        sender: SmtpSender | None,
        limiter: SendRateLimiter | None,
    ) -> None:
        self.conn, self.settings, self.campaign, self.key = conn, settings, campaign, key
        self.summary, self.run_id, self.sender, self.limiter = summary, run_id, sender, limiter
        self.envelope_from = parseaddr(settings.smtp_from)[1] or settings.smtp_from
        self.connection_failures = 0

    def record(
        self,
        row: dict[str, Any],
        status: str,
        detail: str | None,
        msg_id: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        if self.run_id is None:  # dry run: leave no trace
            return
        ledger.record_result(
            self.conn,
            campaign_key=self.key,
            person_id=row["person_id"],
            email=row["email"],
            segment=row.get("segment"),
            status=status,
            detail=detail,
            message_id=msg_id,
            sent_at=sent_at,
            export_run_id=self.run_id,
        )
        self.conn.commit()

    def fail(self, row: dict[str, Any], detail: str) -> None:
        self.summary.note_failure(row["person_id"], detail)
        self.record(row, "failed", detail)

    def deliver(self, row: dict[str, Any], decision: consent.Decision) -> None:
        person_id = row["person_id"]
        if not decision.allowed:
            self.summary.skipped[decision.reason] += 1
            detail = (
                decision.reason if not decision.detail else f"{decision.reason}: {decision.detail}"
            )
            self.record(row, "skipped", detail)
            return
        token = message_token(self.key, person_id)
        msg_id = message_id(self.key, person_id, self.settings.smtp_from)
        try:
            rendered = render_email(
                row,
                self.campaign,
                extra={"unsubscribe_token": token},
                templates_dir=self.settings.templates_dir,
            )
        except TemplateRenderError as exc:
            self.fail(row, f"render_error: {exc}")
            return
        sent_at = datetime.now(UTC)
        try:
            msg = build_message(
                rendered,
                to=row["email"],
                to_name=_display_name(row),
                smtp_from=self.settings.smtp_from,
                msg_id=msg_id,
                sent_at=sent_at,
                unsubscribe_mailto=self.campaign.unsubscribe_mailto,
                campaign=self.key,
                segment=row.get("segment"),
            )
        except (ValueError, TypeError, IndexError) as exc:
            self.fail(row, f"invalid_address: cannot build a message to {row['email']!r}: {exc}")
            return
        if self.sender is None:  # dry run
            self.summary.sent += 1
            return
        assert self.limiter is not None
        self.limiter.wait()
        try:
            self.sender.send(msg, self.envelope_from, row["email"])
        except PermanentSendError as exc:
            self.connection_failures = 0
            self.fail(row, f"rejected: {exc}")
            return
        except TransientSendError as exc:
            self.fail(row, f"transient, retries exhausted: {exc}")
            self.connection_failures = self.connection_failures + 1 if exc.code is None else 0
            if self.connection_failures >= MAX_CONSECUTIVE_CONNECTION_FAILURES:
                raise RelayUnavailableError(
                    f"{self.connection_failures} recipients in a row failed to reach the SMTP relay "
                    f"({self.sender.target.describe()}): {exc}. Stopped early; fix the relay or "
                    "TAILOR_SMTP_URL and re-run the same logical date to send the rest."
                ) from exc
            return
        self.connection_failures = 0
        self.summary.sent += 1
        self.record(row, "sent", None, msg_id, sent_at)


def _not_yet_sent(rows: list[dict[str, Any]], people: set[str], addresses: set[str],
                  summary: ExportSummary) -> list[dict[str, Any]]:
    """The rows to send: one per person and per inbox for the campaign key.

    A person who got it is skipped as ``already_sent``; an address that got
    it (another person's row today, or an earlier row of this audience:
    two people sharing one address) as ``address_already_sent``.
    """
    pending: list[dict[str, Any]] = []
    taken = set(addresses)
    for row in rows:
        address = str(row["email"]).strip().lower()
        if row["person_id"] in people:
            summary.skipped["already_sent"] += 1
        elif address in taken:
            summary.skipped["address_already_sent"] += 1
        else:
            taken.add(address)
            pending.append(row)
    return pending


def send_campaign(
    settings: Settings,
    logical_date: date,
    campaign: str = "weekly",
    dry_run: bool = False,
    progress: Progress | None = None,
    *,
    batch_size: int = 500,
    retry_attempts: int = 4,
    retry_backoff_s: float = 1.0,
) -> ExportSummary:
    """Send ``campaign`` to the audience of ``logical_date``; safe to re-run.

    ``dry_run`` checks consent and renders every email but sends and records
    nothing. ``progress(done, total)`` is called after each recipient.
    """
    started = time.monotonic()
    day = logical_date.strftime("%Y-%m-%d")
    key = campaign_key(campaign, logical_date)
    definition = load_campaign(
        campaign, settings.templates_dir
    )  # a bad campaign fails before any row
    rows = build_audience(settings, logical_date, require_gate=not dry_run)
    summary = ExportSummary("smtp", campaign, day, dry_run=dry_run, total=len(rows))

    with connect("warehouse", settings) as conn, ExitStack() as stack:
        pending = _not_yet_sent(rows, *ledger.already_sent(conn, key), summary)
        run_id = None if dry_run else ledger.start_run(conn, "smtp", campaign, logical_date)
        sender = limiter = None
        try:
            if not dry_run and pending:
                if settings.smtp_url:
                    target = parse_smtp_url(settings.smtp_url)
                else:
                    sink = stack.enter_context(outbox_sink(settings.outbox_dir / day))
                    summary.outbox = sink.outbox
                    target = SmtpTarget(sink.host, sink.port, timeout=10)
                sender = stack.enter_context(
                    SmtpSender(target, attempts=retry_attempts, backoff_s=retry_backoff_s)
                )
                sender.connect()
                limiter = stack.enter_context(SendRateLimiter(settings.send_rate_per_s))
            delivery = _Delivery(
                conn=conn,
                settings=settings,
                campaign=definition,
                key=key,
                summary=summary,
                run_id=run_id,
                sender=sender,
                limiter=limiter,
            )
            done = len(rows) - len(pending)
            if progress:
                progress(done, len(rows))
            for batch in _chunks(pending, batch_size):
                decisions = consent.check_contactability(conn, batch)
                if run_id is not None:
                    consent.record_decisions(conn, decisions.values(), run_id)
                    conn.commit()
                for row in batch:
                    delivery.deliver(row, decisions[row["person_id"]])
                    done += 1
                    if progress:
                        progress(done, len(rows))
        except BaseException as exc:
            summary.duration_s = time.monotonic() - started
            if run_id is not None:
                conn.rollback()
                ledger.finish_run(
                    conn,
                    run_id,
                    status="failed",
                    rows_total=summary.total,
                    rows_sent=summary.sent,
                    rows_skipped=summary.skipped_total,
                    rows_failed=summary.failed,
                    details={**summary.as_dict(), "error": f"{type(exc).__name__}: {exc}"},
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
                rows_failed=summary.failed,
                details=summary.as_dict(),
            )
    return summary
