"""The vendor attributes Tailor understands, and the checks on each.

A delivery's columns are matched by name (after :func:`normalize_header`)
against the aliases below; a recognised column becomes a typed warehouse
column, every other column is kept as delivered in ``extra_attributes``.
A value that does not fit its type quarantines the whole row: loading the
rest of the row would mix a vendor's statement with our guess.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tailor.source.validate import RowError

MAX_TEXT = 64          # typed text values (income_band, one interest)
MAX_INTERESTS = 50
MAX_EXTRA_VALUE = 1000  # characters of one extra attribute, as text
MAX_EXTRA_COLUMNS = 100

ALIASES = {
    "income_band": ("income_band", "income", "income_bracket", "income_range"),
    "household_size": ("household_size", "hh_size", "household", "household_members"),
    "home_owner": ("home_owner", "homeowner", "home_ownership", "owns_home"),
    "interests": ("interests", "interest", "interest_categories"),
}
TRUE = {"true", "t", "yes", "y", "1", "owner", "own"}
FALSE = {"false", "f", "no", "n", "0", "renter", "rent"}
_SEPARATORS = re.compile(r"[|;,]")


def normalize_header(name: str) -> str:
    """``Household Size`` / ``household-size`` -> ``household_size``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def typed_columns(columns: list[str]) -> dict[str, str]:
    """File column -> typed attribute, for the columns that are one.

    Raises ``ValueError`` when two columns claim the same attribute.
    """
    mapped: dict[str, str] = {}
    for attribute, names in ALIASES.items():
        present = [c for c in columns if c in names]
        if len(present) > 1:
            raise ValueError(f"columns {', '.join(present)} all look like {attribute}; keep one")
        if present:
            mapped[present[0]] = attribute
    return mapped


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any, attribute: str) -> str:
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise RowError("oversized value", f"{attribute} is {len(text)} characters; at most {MAX_TEXT}")
    return text


def income_band(value: Any) -> str:
    """Lower-cased, spaces to underscores ('Upper Middle' -> 'upper_middle')."""
    return re.sub(r"\s+", "_", _text(value, "income_band").lower())


def household_size(value: Any) -> int:
    if isinstance(value, bool):
        raise RowError("bad household_size", f"household_size '{value}' is not a whole number")
    text = _text(value, "household_size")
    try:
        number = float(text)
    except ValueError:
        raise RowError("bad household_size", f"household_size '{text}' is not a whole number") from None
    if not number.is_integer() or not 1 <= number <= 20:
        raise RowError("bad household_size", f"household_size '{text}' is not a whole number between 1 and 20")
    return int(number)


def home_owner(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, "home_owner").lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise RowError("bad home_owner", f"home_owner '{text}' is not yes/no (true/false, 1/0, owner/renter)")


def interests(value: Any) -> list[str]:
    """A list (Parquet) or text separated by '|', ';' or ','; lower-cased, de-duplicated, in order."""
    items = list(value) if isinstance(value, (list, tuple)) else _SEPARATORS.split(str(value))
    found: list[str] = []
    for item in items:
        if is_blank(item):
            continue
        text = _text(item, "interest").lower()
        if text not in found:
            found.append(text)
    if len(found) > MAX_INTERESTS:
        raise RowError("oversized value", f"{len(found)} interests; at most {MAX_INTERESTS}")
    return found


PARSERS = {"income_band": income_band, "household_size": household_size, "home_owner": home_owner,
           "interests": interests}


def extra_value(name: str, value: Any) -> Any:
    """An extra attribute as JSON (text from CSV, native types from Parquet)."""
    if isinstance(value, (bool, int, str)):
        result = value.strip() if isinstance(value, str) else value
    elif isinstance(value, float):
        result = value if math.isfinite(value) else str(value)
    elif isinstance(value, (list, tuple)):
        result = [extra_value(name, v) for v in value]
    else:
        result = str(value)
    if len(str(result)) > MAX_EXTRA_VALUE:
        raise RowError("oversized value", f"{name} is {len(str(result))} characters; at most {MAX_EXTRA_VALUE}")
    return result


def parse_attributes(row: dict[str, Any], typed: dict[str, str], key_column: str) -> dict[str, Any]:
    """Typed columns plus ``extra_attributes`` for one row; raises :class:`RowError`."""
    record: dict[str, Any] = dict.fromkeys(PARSERS)
    extra: dict[str, Any] = {}
    for column, value in row.items():
        if column == key_column or is_blank(value):
            continue
        if column in typed:
            attribute = typed[column]
            parsed = PARSERS[attribute](value)
            record[attribute] = parsed if parsed != [] else None
        else:
            extra[column] = extra_value(column, value)
    record["extra_attributes"] = extra
    return record
