"""The Arrow casts in front of binary COPY, without a database."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from tailor.source.load import arrow_type, conform

NUMERIC_10_2 = ((10 << 16) | 2) + 4  # atttypmod of numeric(10, 2)


def test_numeric_precision_and_scale_come_from_the_typmod() -> None:
    assert arrow_type("numeric", NUMERIC_10_2) == pa.decimal128(10, 2)
    with pytest.raises(TypeError, match="numeric without precision"):
        arrow_type("numeric", -1)
    with pytest.raises(TypeError, match="no binary COPY mapping"):
        arrow_type("tsvector", -1)


def test_conform_casts_to_the_column_types_and_keeps_nulls() -> None:
    table = pa.table({
        "id": pa.array([1, 2, None], pa.int64()),
        "price": pa.array([12.99, 0.1, None]),
        "created_at": pa.array([0, 86_400, None], pa.timestamp("s", tz="UTC")),
        "props": pa.array(['{"a": 1}', "{}", None]),
    })
    out = conform("t", table, {"id": ("int4", -1), "price": ("numeric", NUMERIC_10_2),
                               "created_at": ("timestamptz", -1), "props": ("jsonb", -1)})
    assert out.schema.types == [pa.int32(), pa.decimal128(10, 2), pa.timestamp("us", tz="UTC"), pa.json_(pa.string())]
    assert out["price"].to_pylist() == [Decimal("12.99"), Decimal("0.10"), None]
    assert out["created_at"].to_pylist() == table["created_at"].to_pylist()
    assert out["id"].null_count == out["props"].null_count == 1


def test_conform_refuses_values_that_would_change() -> None:
    with pytest.raises(ValueError, match=r"t\.id .* int4"):
        conform("t", pa.table({"id": pa.array([2**40])}), {"id": ("int4", -1)})
    # 0.125 as text rounds to 0.13 on the server, as a binary decimal to 0.12: refuse both
    with pytest.raises(ValueError, match="not rounded to 2 decimals"):
        conform("t", pa.table({"price": pa.array([0.125])}), {"price": ("numeric", NUMERIC_10_2)})
    with pytest.raises(ValueError, match="no column"):
        conform("t", pa.table({"nope": pa.array([1])}), {"id": ("int8", -1)})
