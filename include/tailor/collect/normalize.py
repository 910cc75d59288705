"""One Segment message in, one shop ``web_events`` row (or a quarantine reason) out.

Validation is written out by hand rather than delegated to pydantic so each
refusal carries a precise, stable reason code (what the quarantine table and
the ``tailor_collect_events_total{outcome="quarantined"}`` metric group by)
and a sentence saying what to fix. The pydantic models in :mod:`schema`
describe the same shapes for the OpenAPI document.

Storage layout of a collected event in ``web_events``: the columns the shop
already has (ids, url, referrer, user agent, timezone, times) plus
``properties`` holding the call's own properties (``traits`` for identify and
group) and, under the reserved key ``_tailor``, what the collector knows
about the call: its Segment type, event name, ``userId``, source, device,
coarse location, language, and the clock skew it corrected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from tailor.collect import context as ctx
from tailor.collect import skew
from tailor.config import CollectSettings

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
TYPES = ("identify", "track", "page", "screen", "alias", "group")

# Segment's e-commerce spec (v2) names -> the shop's event_type vocabulary.
SPEC_EVENTS: dict[str, str] = {
    "product viewed": "product_view",
    "product added": "add_to_cart",
    "product removed": "remove_from_cart",
    "cart viewed": "cart_view",
    "checkout started": "checkout",
    "checkout step viewed": "checkout_step",
    "checkout step completed": "checkout_step",
    "payment info entered": "payment_info",
    "order completed": "purchase",
    "order updated": "order_updated",
    "order refunded": "refund",
    "order cancelled": "order_cancelled",
    "products searched": "search",
    "product list viewed": "product_list_view",
    "product list filtered": "product_list_view",
    "product clicked": "product_click",
    "product shared": "product_share",
    "product reviewed": "product_review",
    "product added to wishlist": "add_to_wishlist",
    "product removed from wishlist": "remove_from_wishlist",
    "promotion viewed": "promotion_view",
    "promotion clicked": "promotion_click",
    "coupon entered": "coupon",
    "coupon applied": "coupon",
    "signed up": "sign_up",
    "signed in": "sign_in",
    "signed out": "sign_out",
    "email subscribed": "email_subscribe",
    "email unsubscribed": "email_unsubscribe",
}
_SHOP_TYPES = {"page_view", "product_view", "add_to_cart", "checkout", "purchase"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLUG = re.compile(r"[^a-z0-9]+")
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


class Rejected(Exception):
    """An event the collector refuses; ``reason`` is a stable short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Outcome:
    """What became of one message: a row to store, a refusal, or consent withheld."""

    message_id: str | None
    row: dict[str, Any] | None = None
    rejected: Rejected | None = None
    withheld: bool = False
    payload: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    """A short identifier-like string (numbers are accepted and stringified)."""
    if value is None or value == "":
        if required:
            raise Rejected("missing_field", f"'{name}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected("wrong_type", f"'{name}' must be a string, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        if required:
            raise Rejected("missing_field", f"'{name}' is required")
        return None
    if len(text) > limit:
        raise Rejected("field_too_long", f"'{name}' is longer than {limit} characters")
    if _CONTROL.search(text):
        raise Rejected("bad_characters", f"'{name}' contains control characters")
    return text


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected("wrong_type", f"'{name}' must be a JSON object, got {type(value).__name__}")
    return value


def _free_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _CONTROL.sub("", value.strip())[:limit] or None


def _small_int(value: Any, upper: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= upper else None


def _strip_query(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def event_type_for(kind: str, event: str | None, settings: CollectSettings) -> str:
    """The shop's event_type for a call; unknown track names are refused unless allowed."""
    if kind == "page":
        return "page_view"
    if kind == "screen":
        return "screen_view"
    if kind != "track":
        return kind
    assert event is not None
    key = " ".join(event.lower().split())
    if key in SPEC_EVENTS:
        return SPEC_EVENTS[key]
    if key.replace(" ", "_") in _SHOP_TYPES:
        return key.replace(" ", "_")
    if "*" in settings.custom_events or event in settings.custom_events:
        slug = _SLUG.sub("_", key).strip("_")[:64]
        if slug:
            return slug
    raise Rejected(
        "unknown_event",
        f"track event {event[:80]!r} is neither a Segment e-commerce spec event nor listed in "
        "TAILOR_COLLECT_CUSTOM_EVENTS (add it there, or '*' to accept any name)",
    )


def derive_message_id(payload: bytes) -> str:
    """A message without ``messageId`` gets one from its content, so a re-send de-duplicates."""
    return "tailor-" + hashlib.sha256(payload).hexdigest()[:32]


def normalize(
    message: Any,
    kind: str | None,
    *,
    received_at: datetime,
    settings: CollectSettings,
    source: str,
    batch_sent_at: Any = None,
    batch_context: dict[str, Any] | None = None,
    historical: bool = False,
) -> Outcome:
    """Validate one message and build its ``web_events`` row (never raises)."""
    try:
        payload = orjson.dumps(message)
    except (TypeError, orjson.JSONEncodeError):  # pragma: no cover - parsed JSON always dumps
        payload = repr(message).encode("utf-8", "backslashreplace")
    message_id = None
    if isinstance(message, dict):
        raw_id = message.get("messageId")
        if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
            message_id = str(raw_id)[:200]
    outcome = Outcome(message_id=message_id, payload=payload)
    try:
        _build(outcome, message, kind, payload, received_at, settings, source, batch_sent_at,
               batch_context or {}, historical)
    except Rejected as exc:
        outcome.rejected = exc
        outcome.row = None
    except skew.BadTimestamp as exc:
        outcome.rejected = Rejected("bad_timestamp", str(exc))
        outcome.row = None
    return outcome


def _build(
    outcome: Outcome,
    message: Any,
    kind: str | None,
    payload: bytes,
    received_at: datetime,
    settings: CollectSettings,
    source: str,
    batch_sent_at: Any,
    batch_context: dict[str, Any],
    historical: bool,
) -> None:
    if not isinstance(message, dict):
        raise Rejected("wrong_type", f"an event must be a JSON object, got {type(message).__name__}")
    if len(payload) > MAX_EVENT_BYTES:
        raise Rejected("event_too_large", f"event is {len(payload)} bytes; the limit is {MAX_EVENT_BYTES}")
    if b"\\u0000" in payload:
        raise Rejected("bad_characters", "the event contains a NUL character (\\u0000)")
    declared = message.get("type")
    if kind is None:
        if declared not in TYPES:
            raise Rejected("unknown_type", f"'type' must be one of {', '.join(TYPES)}; got {str(declared)[:40]!r}")
        kind = declared
    elif declared is not None and declared != kind:
        raise Rejected("wrong_type", f"'type' is {str(declared)[:40]!r} but the endpoint is /v1/{kind}")

    context = {**batch_context, **_object(message.get("context"), "context")}
    denied = ctx.analytics_denied(context)
    if denied and settings.consent_mode == "drop":
        # Nothing of a person who refused analytics is kept, not even in quarantine.
        outcome.withheld = True
        return
    properties = _object(message.get("properties"), "properties")
    traits = _object(message.get("traits"), "traits")
    _object(message.get("integrations"), "integrations")
    user_id = _text(message.get("userId"), "userId", 256)
    anonymous_id = _text(message.get("anonymousId"), "anonymousId", 256)
    message_id = _text(message.get("messageId"), "messageId", 200)
    outcome.message_id = message_id or derive_message_id(payload)
    if user_id is None and anonymous_id is None:
        raise Rejected("missing_id", "every call needs a 'userId' or an 'anonymousId'")
    event_name = _text(message.get("event"), "event", 200, required=kind == "track")
    name = _text(message.get("name"), "name", 200)
    previous_id = _text(message.get("previousId"), "previousId", 256, required=kind == "alias")
    group_id = _text(message.get("groupId"), "groupId", 256, required=kind == "group")
    if kind == "alias" and user_id is None:
        raise Rejected("missing_id", "alias needs the new 'userId' as well as 'previousId'")
    event_type = event_type_for(kind, event_name, settings)

    when, skew_s = skew.occurred_at(message, received_at, batch_sent_at, correct=not historical)
    reason = skew.check_window(
        when,
        received_at,
        max_age=None if historical else timedelta(days=settings.max_age_days),
        max_future=timedelta(minutes=settings.max_future_minutes),
    )
    if reason:
        raise Rejected(reason, f"event time {when.isoformat()} is outside the accepted window "
                       f"({settings.max_age_days} days back, {settings.max_future_minutes} minutes ahead; "
                       "use /v1/import for historical data)")

    page = _object(context.get("page"), "context.page")
    device_ctx = _object(context.get("device"), "context.device")
    library = _object(context.get("library"), "context.library")
    user_agent = _free_text(context.get("userAgent"), 1024)
    url = _free_text(properties.get("url") if kind == "page" else None, 2048) or _free_text(page.get("url"), 2048)
    referrer = _free_text(properties.get("referrer") if kind == "page" else None, 2048) or _free_text(
        page.get("referrer"), 2048
    )
    device = ctx.parse_user_agent(user_agent) if user_agent else None
    device_id = _text(device_ctx.get("id"), "context.device.id", 200)
    if device is None and device_id is not None:
        device = ctx.device_from_context(context)
    if device_id is None and device is not None and anonymous_id is not None:
        device_id = f"web:{anonymous_id}"
    library_name = library.get("name") if isinstance(library.get("name"), str) else None
    source_kind = "import" if historical else (
        "browser" if user_agent or (library_name or "").startswith("analytics.js") else "server"
    )

    if denied:
        outcome.row = {
            "message_id": outcome.message_id, "event_type": event_type, "user_id": None,
            "email": None, "anonymous_id": None, "device_id": None, "session_id": None,
            "product_id": None, "order_id": None, "url": _strip_query(url), "referrer": None,
            "user_agent": None, "timezone": None,
            "properties": {"_tailor": {"type": kind, "source": source, "consent": "analytics_denied"}},
            "occurred_at": when.isoformat(), "received_at": received_at.isoformat(),
            "device_type": None, "os": None, "browser": None,
        }
        return

    meta: dict[str, Any] = {"type": kind, "source": source, "source_kind": source_kind}
    if user_id is not None:
        meta["user_id"] = user_id
    if event_name is not None:
        meta["event"] = event_name
    if name is not None:
        meta["name"] = name
    if previous_id is not None:
        meta["previous_id"] = previous_id
    if group_id is not None:
        meta["group_id"] = group_id
    if library_name:
        meta["library"] = library_name[:80]
    location = ctx.coarse_location(context)
    if location:
        meta["location"] = location
    language = ctx.language_of(context)
    if language:
        meta["language"] = language
    if device is not None:
        meta["device"] = {"type": device.device_type, "os": device.os, "browser": device.browser}
    if skew_s:
        meta["skew_s"] = round(skew_s, 3)

    body = traits if kind in ("identify", "group") else properties
    stored = {key: value for key, value in body.items() if key != "_tailor"}
    stored["_tailor"] = meta
    email = traits.get("email") if kind == "identify" else None
    session = context.get("sessionId", context.get("session_id", properties.get("session_id")))
    outcome.row = {
        "message_id": outcome.message_id,
        "event_type": event_type,
        "user_id": user_id,
        "email": email.strip().lower()[:320] if isinstance(email, str) and email.strip() else None,
        "anonymous_id": previous_id if kind == "alias" else anonymous_id,
        "device_id": device_id,
        "session_id": _free_text(session if isinstance(session, str) else None, 128),
        "product_id": _small_int(properties.get("product_id", properties.get("productId")), _INT32),
        "order_id": _small_int(properties.get("order_id", properties.get("orderId")), _INT64),
        "url": url,
        "referrer": referrer,
        "user_agent": user_agent,
        "timezone": ctx.timezone_of(context),
        "properties": stored,
        "occurred_at": when.isoformat(),
        "received_at": received_at.isoformat(),
        "device_type": device.device_type if device else None,
        "os": device.os if device else None,
        "browser": device.browser if device else None,
    }
