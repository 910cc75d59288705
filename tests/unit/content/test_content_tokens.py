"""Tokens with fallbacks: a greeting never reads 'Hi None', 'Hi ,' or 'Hi ANNA'."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tailor.content.tokens import fallback, is_missing, money, name_case


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", float("nan")])
def test_missing_values_get_the_fallback(value: object) -> None:
    assert is_missing(value)
    assert fallback(value, "there") == "there"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ANNA", "Anna"),
        ("anna", "Anna"),
        ("  anna   maria ", "Anna Maria"),
        ("o'brien", "O'Brien"),
        ("MARY-JANE", "Mary-Jane"),
        ("ludwig van beethoven", "Ludwig van Beethoven"),
        ("McDonald", "McDonald"),  # mixed case: the owner's spelling is kept
        ("ÉLODIE", "Élodie"),
    ],
)
def test_names_are_title_cased_sensibly(raw: str, expected: str) -> None:
    assert fallback(raw, "there") == expected
    assert name_case(raw.strip()) == expected


def test_title_false_keeps_the_value_as_written() -> None:
    assert fallback("  SKU-42  ", "x", title=False) == "SKU-42"


def test_zero_is_a_value_not_missing() -> None:
    assert not is_missing(0)
    assert fallback(0, "none") == "0"


def test_money_formats_and_falls_back() -> None:
    assert money(Decimal("1234.5")) == "€1,234.50"
    assert money(None, default="-") == "-"
    assert money("not a number", default="-") == "-"
