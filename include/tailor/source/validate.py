"""Row checks for imported files: a clean record, or the reason it is not one.

Each check returns ``(kind, message)`` on failure: the kind groups the
import summary ("invalid email: 3"), the message names the value and what
is wrong with it, so a person can fix the source file.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from tailor.source.mapping import Mapping

Problem = tuple[str, str]
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
ORDER_STATUS = ("placed", "paid", "shipped", "delivered", "cancelled", "refunded")
GENDERS = {"f": "female", "female": "female", "w": "female", "m": "male", "male": "male",
           "d": "non_binary", "x": "non_binary", "non_binary": "non_binary", "non-binary": "non_binary"}
FUTURE_TOLERANCE = timedelta(days=1)


class RowError(ValueError):
    """A row that cannot be loaded; ``kind`` groups it, the message explains it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def check_email(value: str, field: str = "email") -> str:
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise RowError("invalid email", f"{field} '{value}' is not a valid address: {exc}") from None
    return value.strip()


def parse_date(value: str, field: str, mapping: Mapping) -> date:
    try:
        if mapping.date_format:
            return datetime.strptime(value.strip(), mapping.date_format).date()
        return date.fromisoformat(value.strip())
    except ValueError:
        expected = f"date_format '{mapping.date_format}'" if mapping.date_format else "ISO 8601 (YYYY-MM-DD)"
        raise RowError(f"unparseable {field}", f"{field} '{value}' is not a date in {expected}") from None


def parse_timestamp(value: str, field: str, mapping: Mapping) -> datetime:
    text = value.strip()
    # date_format names the date part; a time of day may follow it
    formats = [f"{mapping.date_format}{suffix}" for suffix in ("", " %H:%M", " %H:%M:%S")] if mapping.date_format else []
    moment = None
    for fmt in formats:
        try:
            moment = datetime.strptime(text, fmt)
            break
        except (ValueError, re.error):  # re.error: the format already has a time part
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            expected = f"date_format '{mapping.date_format}' (optionally + ' %H:%M[:%S]') or ISO 8601" if mapping.date_format else "ISO 8601"
            raise RowError(f"unparseable {field}", f"{field} '{value}' is not a timestamp in {expected}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(mapping.timezone))
    return moment


def _required(row: dict[str, str], field: str) -> str:
    value = (row.get(field) or "").strip()
    if not value:
        raise RowError(f"missing {field}", f"{field} is required but empty")
    return value


def _opt(row: dict[str, str], field: str) -> str | None:
    value = (row.get(field) or "").strip()
    return value or None


def customer(row: dict[str, str], mapping: Mapping, now: datetime) -> dict[str, object]:
    email = check_email(_required(row, "email"))
    birth = _opt(row, "birth_date")
    birth_date = parse_date(birth, "birth_date", mapping) if birth else None
    if birth_date and not (date(1900, 1, 1) <= birth_date <= now.date()):
        raise RowError("implausible birth_date", f"birth_date '{birth}' is outside 1900-01-01..today")
    country = _opt(row, "country")
    if country is not None:
        if len(country) != 2 or not country.isalpha():
            raise RowError("invalid country", f"country '{country}' is not an ISO 3166-1 alpha-2 code (e.g. DE)")
        country = country.upper()
    gender = _opt(row, "gender")
    if gender is not None:
        if gender.lower() not in GENDERS:
            raise RowError("invalid gender", f"gender '{gender}' is not one of female/male/non_binary (or f/m/d)")
        gender = GENDERS[gender.lower()]
    created = _opt(row, "created_at")
    created_at = parse_timestamp(created, "created_at", mapping) if created else now
    return {
        "email": email, "first_name": _opt(row, "first_name"), "last_name": _opt(row, "last_name"),
        "birth_date": birth_date, "gender": gender, "phone": _opt(row, "phone"), "city": _opt(row, "city"),
        "postcode": _opt(row, "postcode"), "country": country, "timezone": _opt(row, "timezone"),
        "income_band": _opt(row, "income_band"), "created_at": created_at, "updated_at": created_at,
    }


def order(row: dict[str, str], mapping: Mapping, now: datetime, known_customers: set[int]) -> dict[str, object]:
    cid_text, email = _opt(row, "customer_id"), _opt(row, "email")
    if not cid_text and not email:
        raise RowError("missing customer", "an order needs a customer_id or an email; both are empty")
    customer_id = None
    if cid_text:
        try:
            customer_id = int(cid_text)
        except ValueError:
            raise RowError("invalid customer_id", f"customer_id '{cid_text}' is not a whole number") from None
        if customer_id not in known_customers:
            raise RowError("unknown customer_id", f"customer_id {customer_id} does not exist in the shop; import customers first")
    if email:
        email = check_email(email)
    total_text = _required(row, "order_total")
    try:
        total = Decimal(total_text.replace(",", ".") if total_text.count(",") == 1 and "." not in total_text else total_text)
    except InvalidOperation:
        raise RowError("invalid order_total", f"order_total '{total_text}' is not a number") from None
    if not total.is_finite() or total < 0:
        raise RowError("invalid order_total", f"order_total '{total_text}' must be a number >= 0")
    ordered_at = parse_timestamp(_required(row, "ordered_at"), "ordered_at", mapping)
    if ordered_at > now + FUTURE_TOLERANCE:
        raise RowError("future ordered_at", f"ordered_at '{row['ordered_at']}' is in the future")
    status = (_opt(row, "status") or "placed").lower()
    if status not in ORDER_STATUS:
        raise RowError("invalid status", f"status '{status}' is not one of {', '.join(ORDER_STATUS)}")
    currency = (_opt(row, "currency") or mapping.currency).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowError("invalid currency", f"currency '{currency}' is not an ISO 4217 code (e.g. EUR)")
    return {
        "customer_id": customer_id, "email": email, "status": status, "currency": currency,
        "order_total": round(total, 2), "device_id": _opt(row, "device_id"),
        "ordered_at": ordered_at, "updated_at": ordered_at,
    }


def event(row: dict[str, str], mapping: Mapping, now: datetime) -> dict[str, object]:
    etype = _required(row, "event_type").lower()
    if etype not in EVENT_TYPES:
        raise RowError("unknown event_type", f"event_type '{etype}' is not one of {', '.join(EVENT_TYPES)}")
    occurred = parse_timestamp(_required(row, "occurred_at"), "occurred_at", mapping)
    if occurred > now + FUTURE_TOLERANCE:
        raise RowError("future occurred_at", f"occurred_at '{row['occurred_at']}' is more than a day in the future")
    if not _opt(row, "customer_id") and not _opt(row, "anonymous_id"):
        raise RowError("missing identity", "an event needs a customer_id or an anonymous_id; both are empty")
    out: dict[str, object] = {"event_type": etype, "occurred_at": occurred, "received_at": now}
    for name in ("customer_id", "product_id", "order_id"):
        text = _opt(row, name)
        try:
            out[name] = int(text) if text else None
        except ValueError:
            raise RowError(f"invalid {name}", f"{name} '{text}' is not a whole number") from None
    for name in ("message_id", "anonymous_id", "device_id", "session_id", "url", "referrer", "user_agent", "timezone"):
        out[name] = _opt(row, name)
    return out


def utc_now() -> datetime:
    return datetime.now(UTC)
