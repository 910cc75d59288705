"""Carts built incrementally follow the change log and equal a full rebuild.

int_carts_attributed recomputes only the persons whose carts or cart lines
the change log has since its last run (the cart's current owner and the one
its table holds), besides those int_persons_changed marks. Shown with cart
changes alone, so nothing else marks anyone: a cart moved to another
customer, a line added, a quantity changed, a cart deleted with its lines.
The incremental build must give the same carts (and profiles) as a full
refresh, and rewrite only the carts of the few persons concerned. Then a
truncate (its log row has no key, so every person's carts are rebuilt) and
one new cart: again the same as a full refresh.
"""

from __future__ import annotations

import pytest
from person_builds import assert_equals_full_refresh, build, latest_change, rows

from tailor.cdc.capture import run_capture
from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source.generate import seed

pytestmark = pytest.mark.integration

COMPARED = ("intermediate.int_carts_attributed", "marts.customer_profiles")


def cart_locations(settings: Settings) -> dict[int, tuple[str, str]]:
    with connect("warehouse", settings) as conn:
        return {cart_id: (person_id, where) for cart_id, person_id, where in conn.execute(
            "select cart_id, person_id, ctid::text from intermediate.int_carts_attributed"
        ).fetchall()}


def test_carts_follow_the_change_log(fresh_db: Settings) -> None:
    settings = fresh_db
    seed(settings, customers=300, seed=5)
    run_capture(settings, max_seconds=120)
    build(settings, latest_change(settings))
    before = cart_locations(settings)

    with connect("shop", settings) as shop:
        carts = [cart_id for (cart_id,) in shop.execute(
            "select cart_id from carts where customer_id is not null "
            "and exists (select 1 from cart_items where cart_items.cart_id = carts.cart_id) "
            "order by cart_id limit 4"
        ).fetchall()]
        assert len(carts) == 4, "the seed must have logged-in carts with lines"
        moved, added_to, changed, deleted = carts
        (new_owner,) = shop.execute(
            "select max(customer_id) from customers "
            "where customer_id <> (select customer_id from carts where cart_id = %s)", (moved,)
        ).fetchone()
        shop.execute("update carts set customer_id = %s, updated_at = now() where cart_id = %s", (new_owner, moved))
        shop.execute(
            "insert into cart_items (cart_id, product_id, quantity, added_at) "
            "select %s, min(product_id), 3, now() from products "
            "where product_id not in (select product_id from cart_items where cart_id = %s)",
            (added_to, added_to),
        )
        shop.execute(
            "update cart_items set quantity = quantity + 1 "
            "where cart_id = %s and product_id = (select min(product_id) from cart_items where cart_id = %s)",
            (changed, changed),
        )
        shop.execute("delete from carts where cart_id = %s", (deleted,))
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)

    build(settings, as_of)
    incremental = rows(settings, COMPARED)
    after = cart_locations(settings)
    assert deleted not in after and after[moved][0] != before[moved][0]
    owners = {before[cart_id][0] for cart_id in carts} | {after[moved][0]}
    rewritten = {cart_id for cart_id, (person, where) in after.items() if before.get(cart_id) != (person, where)}
    assert {after[cart_id][0] for cart_id in rewritten} <= owners, "carts of persons the changes do not concern were rewritten"
    assert {moved, added_to, changed} <= rewritten

    assert_equals_full_refresh(settings, as_of, incremental)

    with connect("shop", settings) as shop:
        shop.execute("truncate carts cascade")
        shop.execute(
            "insert into carts (customer_id, status, created_at, updated_at) "
            "select min(customer_id), 'open', now(), now() from customers"
        )
    run_capture(settings, max_seconds=120)
    as_of = latest_change(settings)
    build(settings, as_of)
    assert len(cart_locations(settings)) == 1
    assert_equals_full_refresh(settings, as_of, rows(settings, COMPARED))
