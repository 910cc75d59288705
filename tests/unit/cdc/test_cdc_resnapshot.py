"""The re-snapshot signal: Debezium's execute-snapshot row, for captured tables only."""

from __future__ import annotations

import pytest

from tailor.cdc.resnapshot import UnknownTableError, snapshot_signal


def test_a_snapshot_of_an_uncaptured_table_is_refused_with_the_list() -> None:
    with pytest.raises(UnknownTableError, match="not a captured shop table; captured tables"):
        snapshot_signal(["passwords"])
    _, kind, data = snapshot_signal(["public.orders", "orders", "customers"])
    assert kind == "execute-snapshot"
    assert data == '{"data-collections": ["public.orders", "public.customers"], "type": "incremental"}'
