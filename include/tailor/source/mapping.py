"""How a customer's file maps onto Tailor's fields (the ``--mapping`` YAML).

```yaml
columns:            # their column: tailor field
  E-Mail: email
  Geburtsdatum: birth_date
date_format: "%d.%m.%Y"   # strptime format for dates/timestamps (ISO 8601 if omitted)
timezone: Europe/Berlin   # for timestamps without an offset
currency: EUR             # orders without a currency column
defaults:                 # tailor field: value, where the file has none
  country: DE
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

ENTITIES = ("customers", "orders", "events")
FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("email", "first_name", "last_name", "birth_date", "gender", "phone", "city",
                  "postcode", "country", "timezone", "income_band", "created_at"),
    "orders": ("customer_id", "email", "status", "currency", "order_total", "device_id", "ordered_at"),
    "events": ("message_id", "event_type", "customer_id", "anonymous_id", "device_id", "session_id",
               "product_id", "order_id", "url", "referrer", "user_agent", "timezone", "occurred_at"),
}


class MappingError(ValueError):
    """The mapping file is malformed or does not fit the data file."""


@dataclass(frozen=True)
class Mapping:
    """Column renames plus the parsing conventions of one data source."""

    entity: str
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    timezone: str = "UTC"
    currency: str = "EUR"
    defaults: dict[str, str] = field(default_factory=dict)

    def resolve(self, file_columns: list[str]) -> tuple[dict[str, str], list[str]]:
        """(their column -> tailor field, unknown columns) for a file's header.

        Without explicit ``columns`` a column named like a Tailor field maps to it.
        """
        if self.columns:
            missing = [c for c in self.columns if c not in file_columns]
            if missing:
                raise MappingError(
                    f"The mapping names column(s) {', '.join(repr(c) for c in missing)} that the file "
                    f"does not have. The file's columns are: {', '.join(file_columns)}. "
                    "Fix the names under 'columns:' in the mapping."
                )
            rename = dict(self.columns)
        else:
            rename = {c: c for c in file_columns if c in FIELDS[self.entity]}
        unknown = [c for c in file_columns if c not in rename]
        return rename, unknown


def parse_mapping(entity: str, data: dict | None, source: str = "mapping") -> Mapping:
    """Validate a mapping dict (already parsed YAML) for ``entity``."""
    if entity not in ENTITIES:
        raise MappingError(f"Unknown entity '{entity}': use one of {', '.join(ENTITIES)}.")
    data = data or {}
    if not isinstance(data, dict):
        raise MappingError(f"{source}: expected a YAML mapping with 'columns:' etc., got {type(data).__name__}.")
    allowed = {"columns", "date_format", "timezone", "currency", "defaults"}
    extra = set(data) - allowed
    if extra:
        raise MappingError(f"{source}: unknown key(s) {', '.join(sorted(extra))}; allowed are {', '.join(sorted(allowed))}.")
    columns = {str(k): str(v) for k, v in (data.get("columns") or {}).items()}
    defaults = {str(k): str(v) for k, v in (data.get("defaults") or {}).items()}
    known = FIELDS[entity]
    wrong = sorted({v for v in columns.values() if v not in known} | {k for k in defaults if k not in known})
    if wrong:
        raise MappingError(
            f"{source}: {', '.join(repr(w) for w in wrong)} is not a {entity} field. "
            f"Known fields: {', '.join(known)}."
        )
    targets = list(columns.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise MappingError(f"{source}: several columns map to {', '.join(doubled)}; map each field once.")
    timezone = str(data.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(f"{source}: timezone '{timezone}' is not an IANA name (e.g. Europe/Berlin).") from exc
    currency = str(data.get("currency") or "EUR").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise MappingError(f"{source}: currency '{currency}' is not an ISO 4217 code (e.g. EUR).")
    return Mapping(entity, columns, data.get("date_format"), timezone, currency, defaults)


def load_mapping(entity: str, path: Path | str | None) -> Mapping:
    """The mapping in ``path`` (YAML), or the name-for-name default when ``path`` is None."""
    if path is None:
        return parse_mapping(entity, {})
    path = Path(path)
    if not path.exists():
        raise MappingError(f"Mapping file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MappingError(f"{path} is not valid YAML: {exc}") from exc
    return parse_mapping(entity, data, str(path))
