"""ESP webhooks: verify who sent them, and read them into one event shape.

Two formats:

* **SendGrid Event Webhook** (signed): a JSON array of events; the signature
  is ECDSA P-256 / SHA-256 over ``timestamp + raw body``, sent base64-encoded
  in ``X-Twilio-Email-Event-Webhook-Signature`` with the timestamp in
  ``X-Twilio-Email-Event-Webhook-Timestamp``; the public key is the one
  SendGrid shows under Mail Settings -> Signed Event Webhook
  (``TAILOR_SENDGRID_WEBHOOK_PUBLIC_KEY``).
* **Generic JSON** for any other ESP or a relay: ``{"events": [...]}`` (or a
  bare array) of ``{id, email, type, timestamp, campaign_id?, url?, reason?}``,
  signed with HMAC-SHA256 over ``"<timestamp>.<raw body>"`` using
  ``TAILOR_WEBHOOK_SECRET``: headers ``X-Tailor-Webhook-Timestamp`` (unix
  seconds, at most 5 minutes old) and ``X-Tailor-Webhook-Signature: v1=<hex>``.

Bounces (not temporary blocks), spam reports and unsubscribes (including
SendGrid group unsubscribes) become suppressions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
GENERIC_SIGNATURE_HEADER = "X-Tailor-Webhook-Signature"
GENERIC_TIMESTAMP_HEADER = "X-Tailor-Webhook-Timestamp"
GENERIC_TOLERANCE_S = 300

# SendGrid event -> shop email_events.event_type (None: acknowledged, not stored)
SENDGRID_EVENTS: dict[str, str | None] = {
    "processed": "sent",
    "delivered": "delivered",
    "open": "open",
    "click": "click",
    "bounce": "bounce",
    "dropped": "dropped",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "deferred": None,
    "group_resubscribe": None,
}
GENERIC_EVENTS = {"sent", "delivered", "open", "click", "bounce", "dropped", "spam_report", "unsubscribe"}
SUPPRESSING = {"bounce", "spam_report", "unsubscribe"}


class SignatureError(Exception):
    """The webhook's signature is missing or wrong: reject with 403."""


class NotConfigured(Exception):
    """No key/secret configured for this webhook: refuse (fail closed)."""


class BadEvent(ValueError):
    """One webhook event that cannot be used; quarantined with this reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class EspEvent:
    """One ESP event in Tailor's terms."""

    provider: str
    event_id: str
    email: str  # normalised
    event_type: str | None  # email_events.event_type; None = acknowledged only
    occurred_at: datetime
    campaign_id: str | None
    url: str | None
    detail: str | None
    suppression: str | None  # 'bounce' | 'spam_report' | 'unsubscribe' | None
    raw: bytes


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key: base64 DER (as the UI shows it) or PEM."""
    text = text.strip()
    try:
        key = (
            load_pem_public_key(text.encode())
            if text.startswith("-----BEGIN")
            else load_der_public_key(base64.b64decode(text))
        )
    except (ValueError, binascii.Error) as exc:
        raise NotConfigured(
            f"TAILOR_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key ({exc}); paste the "
            "'Verification Key' from SendGrid's Signed Event Webhook settings"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise NotConfigured("TAILOR_SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA key")
    return key


def verify_sendgrid(public_key: str | None, body: bytes, signature: str | None, timestamp: str | None) -> None:
    """Raise unless ``signature`` is SendGrid's ECDSA signature of ``timestamp + body``."""
    if not public_key:
        raise NotConfigured(
            "the SendGrid webhook is not configured: set TAILOR_SENDGRID_WEBHOOK_PUBLIC_KEY to the "
            "Signed Event Webhook verification key"
        )
    key = load_public_key(public_key)
    if not signature or not timestamp:
        raise SignatureError(f"missing {SENDGRID_SIGNATURE_HEADER} or {SENDGRID_TIMESTAMP_HEADER}")
    try:
        decoded = base64.b64decode(signature, validate=True)
        key.verify(decoded, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SignatureError("the SendGrid signature does not match the body and timestamp") from exc


def sign_generic(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Tailor-Webhook-Signature`` value for ``body`` (for senders and tests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_generic(secret: str | None, body: bytes, signature: str | None, timestamp: str | None,
                   now: float | None = None) -> None:
    """Raise unless the HMAC signature matches and the timestamp is recent."""
    if not secret:
        raise NotConfigured("the generic webhook is not configured: set TAILOR_WEBHOOK_SECRET")
    if not signature or not timestamp:
        raise SignatureError(f"missing {GENERIC_SIGNATURE_HEADER} or {GENERIC_TIMESTAMP_HEADER}")
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise SignatureError(f"{GENERIC_TIMESTAMP_HEADER} must be unix seconds") from exc
    if abs((now or time.time()) - stamp) > GENERIC_TOLERANCE_S:
        raise SignatureError(f"{GENERIC_TIMESTAMP_HEADER} is more than {GENERIC_TOLERANCE_S}s off; re-sign")
    if not hmac.compare_digest(sign_generic(secret, body, stamp), signature.strip()):
        raise SignatureError("the webhook signature does not match the body and timestamp")


def _email(value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or len(value) > 320:
        raise BadEvent("missing_email", "the event has no usable 'email'")
    return value.strip().lower()


def _time(value: Any) -> datetime:
    if isinstance(value, bool):
        raise BadEvent("bad_timestamp", "'timestamp' must be unix seconds or ISO-8601")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadEvent("bad_timestamp", f"'timestamp' {value!r} is out of range") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadEvent("bad_timestamp", f"'timestamp' {value[:40]!r} is not ISO-8601") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise BadEvent("bad_timestamp", "'timestamp' is missing")


def _opt_text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def parse_sendgrid(item: Any) -> EspEvent:
    """One element of SendGrid's event array."""
    raw = orjson.dumps(item)
    if not isinstance(item, dict):
        raise BadEvent("wrong_type", "a SendGrid event must be a JSON object")
    name = item.get("event")
    if name not in SENDGRID_EVENTS:
        raise BadEvent("unknown_event", f"unknown SendGrid event {str(name)[:40]!r}")
    event_type = SENDGRID_EVENTS[name]
    detail = _opt_text(item.get("reason"), 500)
    suppression = event_type if event_type in SUPPRESSING else None
    if name == "bounce" and item.get("type") == "blocked":
        suppression = None  # a temporary block, not a dead address
    if name == "group_unsubscribe":
        detail = f"asm_group_id={item.get('asm_group_id')}"
    event_id = item.get("sg_event_id")
    return EspEvent(
        provider="sendgrid",
        event_id=str(event_id)[:200] if event_id else "h-" + hashlib.sha256(raw).hexdigest()[:32],
        email=_email(item.get("email")),
        event_type=event_type,
        occurred_at=_time(item.get("timestamp")),
        campaign_id=_opt_text(item.get("campaign_id") or item.get("tailor_campaign"), 200),
        url=_opt_text(item.get("url"), 2048),
        detail=detail,
        suppression=suppression,
        raw=raw,
    )


def parse_generic(item: Any) -> EspEvent:
    """One event of the generic JSON format."""
    raw = orjson.dumps(item)
    if not isinstance(item, dict):
        raise BadEvent("wrong_type", "a webhook event must be a JSON object")
    kind = item.get("type", item.get("event"))
    if kind not in GENERIC_EVENTS:
        raise BadEvent("unknown_event", f"'type' must be one of {', '.join(sorted(GENERIC_EVENTS))}")
    event_id = item.get("id")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not str(event_id):
        raise BadEvent("missing_field", "every event needs an 'id' (used to de-duplicate)")
    return EspEvent(
        provider="generic",
        event_id=str(event_id)[:200],
        email=_email(item.get("email")),
        event_type=kind,
        occurred_at=_time(item.get("timestamp")),
        campaign_id=_opt_text(item.get("campaign_id"), 200),
        url=_opt_text(item.get("url"), 2048),
        detail=_opt_text(item.get("reason"), 500),
        suppression=kind if kind in SUPPRESSING else None,
        raw=raw,
    )
