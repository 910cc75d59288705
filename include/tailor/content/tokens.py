"""Personalization tokens: turning warehouse values into words fit for an email.

Warehouse columns arrive as ``None``, ``''``, ``'  '`` or ``'ANNA'``; a greeting
must never read "Hi None", "Hi ," or "Hi ANNA". These filters are registered in
the template environment (see :mod:`tailor.content.render`) so templates write
``{{ first_name | fallback("there") }}`` and get a sensible word every time.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

# Name particles that stay lower case inside a name ("Ludwig van Beethoven").
_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "dos", "das", "y"}
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def is_missing(value: Any) -> bool:
    """True for values a reader would see as 'nothing': None, '', whitespace, NaN."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float | Decimal):
        return value != value  # NaN
    return False


def name_case(value: str) -> str:
    """Title-case a name only when it was typed in one case.

    'ANNA' and 'anna' become 'Anna', "o'brien" becomes "O'Brien", 'mary-jane'
    becomes 'Mary-Jane'; a name already in mixed case ('McDonald', 'DeShawn')
    is kept as written, because its owner chose that spelling.
    """
    text = " ".join(value.split())
    letters = [c for c in text if c.isalpha()]
    if not letters or not (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
        return text

    def fix(match: re.Match[str]) -> str:
        word = match.group(0).lower()
        start = match.start()
        # keep particles lower case when they are not the first word
        if word in _PARTICLES and start > 0 and text[start - 1] == " ":
            return word
        return word[:1].upper() + word[1:]

    return _WORD.sub(fix, text)


def fallback(value: Any, default: str = "", title: bool = True) -> str:
    """The value as display text, or ``default`` when it is missing.

    Why a filter and not ``default()``: Jinja's ``default`` only replaces
    undefined values, not ``None`` or whitespace, and does not fix the case of
    names shouted in capitals. ``title=False`` keeps the value's own case
    (e.g. product codes). The default is returned as written.
    """
    if is_missing(value):
        return default
    text = " ".join(str(value).split())
    return name_case(text) if title else text


def money(value: Any, currency: str = "€", default: str = "") -> str:
    """An amount with two decimals and a thousands separator ('€1,234.50')."""
    if is_missing(value):
        return default
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return default
    return f"{currency}{amount:,.2f}"


def present(value: Any) -> bool:
    """The opposite of :func:`is_missing`, as a Jinja test: ``{% if city is present %}``."""
    return not is_missing(value)
