"""Landing COPY text in pieces: a duplicate in a later piece still lands the rest once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from tailor.cdc.envelope import ChangeRow
from tailor.cdc.landing import copy_text, land_copy
from tailor.config import Settings
from tailor.db.connect import database_url

pytestmark = pytest.mark.integration


def rows(ids: range) -> list[ChangeRow]:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    return [
        ChangeRow.of("customers", "c", {"customer_id": i}, None, {"customer_id": i}, 1000 + i,
                     7, now, now)
        for i in ids
    ]


def test_pieces_land_like_one_text_and_a_late_duplicate_falls_back(fresh_db: Settings) -> None:
    with psycopg.connect(database_url("warehouse", fresh_db), autocommit=True) as conn:
        first = land_copy(conn, iter([copy_text(rows(range(1, 4))), copy_text(rows(range(4, 6)))]),
                          Counter(customers=5))
        # the second piece repeats customer 5: the whole batch takes the on-conflict path
        again = land_copy(conn, iter([copy_text(rows(range(6, 9))), copy_text(rows(range(5, 7)))]),
                          Counter(customers=5))
        empty = land_copy(conn, iter([b"", b""]), Counter())
        landed = conn.execute("select count(*), count(distinct pk) from raw.cdc_events").fetchone()
    assert (first.landed, first.duplicates, first.redelivered) == (5, 0, False)
    assert (again.landed, again.duplicates, again.redelivered) == (3, 2, True)
    assert empty.landed == 0 and landed == (8, 8)
