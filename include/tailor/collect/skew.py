"""When did an event happen? Segment's clock-skew correction.

A browser's clock can be hours off. Segment's rule: the device stamps the
event (``timestamp``/``originalTimestamp``) and the moment it sent it
(``sentAt``) with the same wrong clock, so their difference is trustworthy;
the server adds that difference to its own receive time::

    occurred_at = received_at - (sentAt - timestamp)

Without ``sentAt`` the device's timestamp is taken as given, and without any
timestamp the receive time is used. ``/v1/import`` (historical data) takes
timestamps as given: there is no live clock to correct.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


class BadTimestamp(ValueError):
    """A timestamp field that is not an ISO-8601 date-time."""


def parse_time(value: Any, field: str) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string (naive means UTC); None if absent."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 40:
        raise BadTimestamp(f"'{field}' must be an ISO-8601 date-time string, got {str(value)[:40]!r}")
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadTimestamp(f"'{field}' is not an ISO-8601 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadTimestamp(f"'{field}' is out of range: {value[:40]!r}") from None


def occurred_at(
    event: dict[str, Any],
    received_at: datetime,
    batch_sent_at: Any = None,
    *,
    correct: bool = True,
) -> tuple[datetime, float]:
    """The corrected event time and the skew applied (seconds, 0 if none)."""
    stamp = parse_time(event.get("timestamp"), "timestamp") or parse_time(
        event.get("originalTimestamp"), "originalTimestamp"
    )
    sent = parse_time(event.get("sentAt"), "sentAt") or parse_time(batch_sent_at, "sentAt")
    if stamp is None:
        return received_at, 0.0
    if not correct or sent is None:
        return stamp, 0.0
    try:
        corrected = received_at - (sent - stamp)
    except OverflowError:
        raise BadTimestamp("'timestamp' and 'sentAt' are too far apart to correct") from None
    return corrected, (received_at - sent).total_seconds()


def check_window(
    when: datetime, received_at: datetime, *, max_age: timedelta | None, max_future: timedelta
) -> str | None:
    """A quarantine reason if ``when`` is implausibly far from now, else None."""
    if when > received_at + max_future:
        return "timestamp_in_future"
    if max_age is not None and when < received_at - max_age:
        return "timestamp_too_old"
    if when.year < 2000:
        return "timestamp_too_old"
    return None
