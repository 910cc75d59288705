"""A small, reproducible batch of shop changes: what one incremental run sees.

`tailor.source.incremental` appends days of simulated shop life; this module
instead touches a fixed share of existing customers (default 1%) with the
kinds of change every incremental model must handle, so a benchmark or a test
can compare an incremental build with a full refresh:

* new orders with order lines, and order status updates;
* new web events, identified and anonymous (on an anonymous id the customer
  was seen with, so stitching re-attributes across old and new events);
* new email events and consent withdrawals;
* profile edits (email, city, last name) — which move identity edges;
* deletes: abandoned carts purged (their items cascade).

Everything is plain SQL on the shop (INSERT / UPDATE / DELETE in one
transaction), so CDC captures ordinary changes. Which customers change and
what they do depends only on ``seed`` and the shop's contents: the same
shop and seed give the same changes. Timestamps follow the shop's latest
one, so a run "as of" :attr:`ChangeSummary.latest` sees all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tailor.config import Settings
from tailor.db.connect import connect

# One statement per kind of change, each over the same chosen customers
# (`picked`: rank r = 0..k-1 in a seeded hash order) and the shop's latest
# timestamp (`clock`). Kinds go to subsets of the picked customers by rank,
# so one customer may, say, order and change email in the same batch.
_PICK = """
create temporary table picked on commit drop as
select customer_id, (row_number() over (order by md5(customer_id::text || ':' || %(seed)s::text)) - 1) as r
from customers
order by md5(customer_id::text || ':' || %(seed)s::text)
limit %(count)s
"""
_CLOCK = """
create temporary table clock on commit drop as
select greatest(
    (select max(updated_at) from customers), (select max(updated_at) from orders),
    (select max(updated_at) from carts), (select max(occurred_at) from web_events),
    (select max(occurred_at) from email_events), (select max(recorded_at) from consents)
) as latest
"""
_STATEMENTS: dict[str, str] = {
    "orders": """
        insert into orders (customer_id, email, status, currency, order_total, device_id, ordered_at, updated_at)
        select c.customer_id, c.email, 'paid', 'EUR', 0, null,
               clock.latest + make_interval(secs => p.r + 1), clock.latest + make_interval(secs => p.r + 1)
        from picked p join customers c using (customer_id) cross join clock
        where p.r %% 2 = 0
        order by p.r
        returning order_id
    """,
    "order_items": """
        insert into order_items (order_id, line_no, product_id, quantity, unit_price)
        select o.order_id, line.no, pr.product_id, 1 + (o.order_id + line.no) %% 3, pr.price
        from orders o
        cross join generate_series(1, 2) as line (no)
        join lateral (
            select product_id, price from products
            order by md5(product_id::text || ':' || o.order_id::text || ':' || line.no::text) limit 1
        ) pr on true
        where o.ordered_at > (select latest from clock) and o.order_total = 0
    """,
    "order_totals": """
        update orders o set order_total = t.total
        from (select order_id, sum(quantity * unit_price) as total from order_items group by order_id) t
        where o.order_id = t.order_id and o.ordered_at > (select latest from clock) and o.order_total = 0
    """,
    "order_status": """
        update orders set status = 'shipped', updated_at = (select latest from clock) + interval '1 hour'
        where order_id in (
            select o.order_id from orders o join picked p using (customer_id)
            where o.status = 'paid' and o.ordered_at <= (select latest from clock) and p.r %% 5 = 1
        )
    """,
    "web_events": """
        insert into web_events (message_id, event_type, customer_id, anonymous_id, device_id, session_id,
                                product_id, url, referrer, user_agent, timezone, properties, occurred_at, received_at)
        select 'chg-' || %(seed)s::text || '-' || extract(epoch from clock.latest)::bigint || '-' || p.r || '-' || e.n,
               (array['page_view', 'product_view', 'add_to_cart'])[e.n],
               case when e.n = 3 and p.r %% 4 = 0 then null else p.customer_id end,
               seen.anonymous_id, seen.device_id, 'chg-s-' || p.r,
               case when e.n > 1 then (select min(product_id) from products) + p.r %% 50 end,
               'https://shop.example/' || (array['', 'p/', 'cart'])[e.n],
               null, 'Mozilla/5.0', c.timezone, '{}'::jsonb,
               clock.latest + make_interval(secs => p.r + e.n), clock.latest + make_interval(secs => p.r + e.n)
        from picked p
        join customers c using (customer_id)
        cross join clock
        cross join generate_series(1, 3) as e (n)
        left join lateral (
            select w.anonymous_id, w.device_id from web_events w
            where w.customer_id = p.customer_id and w.anonymous_id is not null
            order by w.occurred_at desc, w.event_id desc limit 1
        ) seen on true
    """,
    "email_events": """
        insert into email_events (customer_id, email, campaign_id, event_type, url, occurred_at)
        select p.customer_id, c.email, 'chg-' || %(seed)s::text, kind.event_type,
               case when kind.event_type = 'click' then 'https://shop.example/offer' end,
               clock.latest + make_interval(secs => p.r + kind.n)
        from picked p
        join customers c using (customer_id)
        cross join clock
        cross join (values (1, 'delivered'), (2, 'open'), (3, 'click')) as kind (n, event_type)
        where c.email is not null and kind.n <= 1 + p.r %% 3
    """,
    "consents": """
        insert into consents (customer_id, purpose, status, source, recorded_at)
        select p.customer_id, 'email_marketing', 'withdrawn', 'preference_center',
               clock.latest + make_interval(secs => p.r + 5)
        from picked p cross join clock
        where p.r %% 10 = 3
    """,
    "customers": """
        update customers c set
            email = case when p.r %% 5 = 2
                then lower(coalesce(c.first_name, 'x')) || '.' || c.customer_id || '@changed.example'
                else c.email end,
            city = case when p.r %% 3 = 0
                then coalesce((select o.city from customers o where o.city is not null
                               and o.city is distinct from c.city
                               order by md5(o.customer_id::text || ':' || p.r::text) limit 1), c.city)
                else c.city end,
            last_name = case when p.r %% 11 = 7 then c.last_name || '-' || 'Neu' else c.last_name end,
            updated_at = (select latest from clock) + make_interval(secs => p.r + 1)
        from picked p
        where c.customer_id = p.customer_id and (p.r %% 5 = 2 or p.r %% 3 = 0 or p.r %% 11 = 7)
    """,
    "carts": """
        delete from carts where cart_id in (
            select ca.cart_id from carts ca join picked p using (customer_id)
            where ca.status = 'abandoned' and p.r %% 7 = 4
        )
    """,
}


@dataclass
class ChangeSummary:
    """What :func:`apply_changes` did, per kind of change."""

    seed: int
    customers: int                              # customers touched
    rows: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None              # the newest timestamp in the shop afterwards

    def describe(self) -> str:
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in self.rows.items())
        return f"changed {self.customers:,} customers (seed {self.seed}): {kinds}"


def apply_changes(settings: Settings, *, share: float = 0.01, seed: int = 42) -> ChangeSummary:
    """Change ``share`` of the shop's customers, in one transaction on the shop."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    with connect("shop", settings) as conn:
        (total,) = conn.execute("select count(*) from customers").fetchone()
        if not total:
            raise ValueError("The shop has no customers to change; seed it first ('tailor seed').")
        count = max(1, round(total * share))
        params = {"seed": seed, "count": count}
        conn.execute(_CLOCK)
        conn.execute(_PICK, params)
        summary = ChangeSummary(seed=seed, customers=count)
        for kind, statement in _STATEMENTS.items():
            summary.rows[kind] = conn.execute(statement, params).rowcount
        (summary.latest,) = conn.execute(
            "select greatest((select max(updated_at) from customers), (select max(updated_at) from orders), "
            "(select max(occurred_at) from web_events), (select max(occurred_at) from email_events), "
            "(select max(recorded_at) from consents))"
        ).fetchone()
    return summary
