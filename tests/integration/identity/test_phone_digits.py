"""Phone digits without a regular expression keep exactly what the regular expression kept.

macros/identity.sql (digits_only, for the phone identity key) and the
matcher's input (identity/sql/match_input.sql) take a phone's digits with
two translates instead of regexp_replace(x, '[^0-9]', '', 'g'), which cost
more. Keys are compared across runs, so a single differing character would
split or merge people: both expressions must agree on every input,
including the awkward ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.db.connect import connect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
AWKWARD = [  # besides ASCII: Arabic-Indic and full-width digits, which neither keeps
    "+49 (0)30 1234-5678", "0049.30.123456", "tel: 030/123 456 7", "ext. 12", "", " ", "no phone",
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "\uff10\uff13\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "12\t34\n56", "%_\\'\"", "1234567890" * 5, "\u06630\u06612", None,
]


def macro_expression(name: str, argument: str) -> str:
    source = (ROOT / "dbt_project" / "macros" / "identity.sql").read_text()
    body = re.search(r"\{% macro " + name + r"\(column_name\) -%\}(.*?)\{%- endmacro %\}", source, re.S)
    assert body, f"macro {name} not found"
    return body.group(1).strip().replace("{{ column_name }}", argument)


def test_digits_only_equals_the_regular_expression(pg: Settings) -> None:
    expression = macro_expression("digits_only", "phone")
    assert expression in (ROOT / "include" / "tailor" / "identity" / "sql" / "match_input.sql").read_text(), \
        "the matcher's input takes the digits differently from the identity key"
    with connect("warehouse", pg) as conn:
        rows = conn.execute(
            f"select phone, {expression}, regexp_replace(phone, '[^0-9]', '', 'g') "
            "from unnest(%s::text[]) as phones(phone)",
            (AWKWARD,),
        ).fetchall()
    assert len(rows) == len(AWKWARD)
    assert [(phone, ours, regex) for phone, ours, regex in rows if ours != regex] == []
