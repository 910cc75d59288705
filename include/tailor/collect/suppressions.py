"""Store ESP webhook events: suppressions at once, email events through CDC.

A bounce, spam report or unsubscribe must stop the very next send, so it is
written first to the warehouse table the export reads at send time
(``exports.suppressions``, through ``marts.contactability``); only then to
the shop (``email_events``, plus a withdrawn ``email_marketing`` consent for
an unsubscribe), from where CDC and dbt carry it into the profiles. Both
writes are idempotent on the provider's event id, so a provider re-delivery,
or a retry after a failure between the two writes, changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tailor.collect.webhooks import EspEvent
from tailor.config import Settings
from tailor.db.connect import connect

SUPPRESS_SQL = """
insert into exports.suppressions (email_normalized, reason, source, event_id, detail, suppressed_at)
values (%s, %s, %s, %s, %s, %s)
on conflict (source, event_id) do nothing
"""

RECEIPT_SQL = """
insert into esp_webhook_receipts (provider, provider_event_id, received_at)
values (%s, %s, %s)
on conflict do nothing
returning provider_event_id
"""

EMAIL_EVENT_SQL = """
insert into email_events (customer_id, email, campaign_id, event_type, url, occurred_at)
values (
    (select customer_id from customers where lower(trim(email)) = %(email)s
     order by is_guest asc, updated_at desc, customer_id desc limit 1),
    %(email)s, %(campaign_id)s, %(event_type)s, %(url)s, %(occurred_at)s
)
returning event_id
"""

WITHDRAW_SQL = """
insert into consents (customer_id, purpose, status, source, recorded_at)
select customer_id, 'email_marketing', 'withdrawn', 'unsubscribe_link', %(occurred_at)s
from customers where lower(trim(email)) = %(email)s
"""


@dataclass
class WebhookResult:
    """Counts of one webhook delivery."""

    stored: int = 0
    duplicates: int = 0
    suppressed: int = 0
    ignored: int = 0


def store_esp_events(settings: Settings, events: Sequence[EspEvent]) -> WebhookResult:
    """Write ``events``: warehouse suppressions (committed first), then shop rows."""
    result = WebhookResult()
    suppressions = [e for e in events if e.suppression]
    if suppressions:
        with connect("warehouse", settings) as conn, conn.cursor() as cur:
            cur.executemany(
                SUPPRESS_SQL,
                [(e.email, e.suppression, e.provider, e.event_id, e.detail, e.occurred_at)
                 for e in suppressions],
            )
        result.suppressed = len(suppressions)
    received_at = datetime.now(UTC)
    with connect("shop", settings) as conn, conn.cursor() as cur:
        for event in events:
            if event.event_type is None:
                result.ignored += 1
                continue
            cur.execute(RECEIPT_SQL, (event.provider, event.event_id, received_at))
            if cur.fetchone() is None:
                result.duplicates += 1
                continue
            params = {
                "email": event.email, "campaign_id": event.campaign_id, "event_type": event.event_type,
                "url": event.url, "occurred_at": event.occurred_at,
            }
            cur.execute(EMAIL_EVENT_SQL, params)
            row = cur.fetchone()
            cur.execute(
                "update esp_webhook_receipts set email_event_id = %s "
                "where provider = %s and provider_event_id = %s",
                (row[0] if row else None, event.provider, event.event_id),
            )
            if event.event_type == "unsubscribe":
                cur.execute(WITHDRAW_SQL, params)
            result.stored += 1
    return result
