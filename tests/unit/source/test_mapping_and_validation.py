"""Mapping files and per-row validation reasons (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tailor.source import validate
from tailor.source.mapping import MappingError, load_mapping, parse_mapping

NOW = datetime(2024, 6, 30, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_example_mapping_parses() -> None:
    mapping = load_mapping("customers", EXAMPLES / "customers_mapping.yml")
    assert mapping.columns["E-Mail"] == "email"
    assert mapping.date_format == "%d.%m.%Y"
    assert mapping.timezone == "Europe/Berlin"
    assert mapping.defaults == {"country": "DE"}


def test_mapping_rejects_unknown_field_and_timezone() -> None:
    with pytest.raises(MappingError, match="'mail' is not a customers field"):
        parse_mapping("customers", {"columns": {"E-Mail": "mail"}})
    with pytest.raises(MappingError, match="not an IANA name"):
        parse_mapping("orders", {"timezone": "Mars/Base"})


def test_mapping_naming_missing_column_is_a_clear_error() -> None:
    mapping = parse_mapping("customers", {"columns": {"Mail": "email"}})
    with pytest.raises(MappingError, match="'Mail' that the file does not have"):
        mapping.resolve(["email", "first_name"])


def test_unknown_columns_are_reported() -> None:
    rename, unknown = parse_mapping("customers", {}).resolve(["email", "shoe_size"])
    assert rename == {"email": "email"}
    assert unknown == ["shoe_size"]


@pytest.mark.parametrize(
    ("row", "kind", "fragment"),
    [
        ({"email": "x@@y.com"}, "invalid email", "email 'x@@y.com' is not a valid address"),
        ({"email": ""}, "missing email", "email is required"),
        ({"email": "a@b.de", "birth_date": "31.02.1990"}, "unparseable birth_date", "birth_date '31.02.1990'"),
        ({"email": "a@b.de", "country": "Germany"}, "invalid country", "ISO 3166-1"),
    ],
)
def test_customer_reasons(row: dict, kind: str, fragment: str) -> None:
    mapping = parse_mapping("customers", {"date_format": "%d.%m.%Y"})
    with pytest.raises(validate.RowError, match=fragment) as info:
        validate.customer(row, mapping, NOW)
    assert info.value.kind == kind


def test_customer_good_row_is_cleaned() -> None:
    mapping = parse_mapping("customers", {"date_format": "%d.%m.%Y", "timezone": "Europe/Berlin"})
    record = validate.customer({"email": " A@B.de ", "birth_date": "01.02.1990", "country": "de",
                                "gender": "f", "created_at": "02.01.2024 09:15"}, mapping, NOW)
    assert record["email"] == "A@B.de"
    assert record["country"] == "DE"
    assert record["gender"] == "female"
    assert record["created_at"].utcoffset().total_seconds() == 3600


def test_order_and_event_reasons() -> None:
    orders = parse_mapping("orders", {})
    with pytest.raises(validate.RowError, match="must be a number >= 0"):
        validate.order({"email": "a@b.de", "order_total": "-1", "ordered_at": "2024-01-01"}, orders, NOW, set())
    with pytest.raises(validate.RowError, match="customer_id 5 does not exist"):
        validate.order({"customer_id": "5", "order_total": "1", "ordered_at": "2024-01-01"}, orders, NOW, set())
    events = parse_mapping("events", {})
    with pytest.raises(validate.RowError, match="event_type 'login'"):
        validate.event({"event_type": "login", "occurred_at": "2024-01-01", "anonymous_id": "a"}, events, NOW)
    with pytest.raises(validate.RowError, match="future"):
        validate.event({"event_type": "page_view", "occurred_at": "2031-01-01", "anonymous_id": "a"}, events, NOW)
