"""Build the MIME message for one recipient: ids, headers, text + HTML parts.

The Message-Id is derived from (campaign_key, person_id) so a retried or
re-run send carries the same id: receivers and our own audit can tell a
duplicate from a new message, and the outbox names files by it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from tailor.content.render import RenderedEmail

# RFC 5322 allows 998 characters per line; folding at 78 turns long
# List-Unsubscribe URLs into RFC 2047 encoded-words, which clients do not parse.
POLICY = policy.default.clone(max_line_length=998)


def campaign_key(campaign: str, logical_date: object) -> str:
    """'weekly:2024-05-06' — the idempotency key of one campaign send."""
    day = (
        logical_date.strftime("%Y-%m-%d")
        if hasattr(logical_date, "strftime")
        else str(logical_date)
    )
    return f"{campaign}:{day}"


def message_token(key: str, person_id: str) -> str:
    """A stable opaque token per (campaign_key, person_id); also the unsubscribe token."""
    return hashlib.sha256(f"{key}\x1f{person_id}".encode()).hexdigest()[:32]


def sender_domain(smtp_from: str) -> str:
    """The domain of the From address, used on the right of Message-Ids."""
    _, address = parseaddr(smtp_from)
    return address.rpartition("@")[2] or "tailor.local"


def message_id(key: str, person_id: str, smtp_from: str) -> str:
    """``<token@sender-domain>``, deterministic per (campaign_key, person_id)."""
    return f"<{message_token(key, person_id)}@{sender_domain(smtp_from)}>"


def build_message(
    rendered: RenderedEmail,
    *,
    to: str,
    to_name: str | None,
    smtp_from: str,
    msg_id: str,
    sent_at: datetime,
    unsubscribe_mailto: str | None = None,
    campaign: str | None = None,
    segment: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred) with List-Unsubscribe.

    List-Unsubscribe (RFC 2369) plus List-Unsubscribe-Post (RFC 8058, one-click)
    is what large mailbox providers require from bulk senders.
    """
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = rendered.subject
    msg["From"] = smtp_from
    ((_, to_addr),) = getaddresses([to])
    msg["To"] = Address(display_name=to_name or "", addr_spec=to_addr)
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = msg_id
    unsubscribe = []
    if unsubscribe_mailto:
        token = msg_id.strip("<>").partition("@")[0]
        unsubscribe.append(f"<mailto:{unsubscribe_mailto}?subject=unsubscribe%20{token}>")
    if rendered.unsubscribe_url:
        unsubscribe.append(f"<{rendered.unsubscribe_url}>")
    if unsubscribe:
        msg["List-Unsubscribe"] = ", ".join(unsubscribe)
    if rendered.unsubscribe_url and rendered.unsubscribe_url.startswith("https://"):
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if campaign:
        msg["X-Tailor-Campaign"] = campaign
    if segment:  # lets the ESP's reports and the demo report group by segment
        msg["X-Tailor-Segment"] = segment
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg
