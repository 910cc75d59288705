"""The next slice of shop life on top of what is already there.

Reads just enough state (customers, their devices, consent, truth) to carry
people forward, then writes one transaction of real INSERTs (COPY), UPDATEs
and DELETEs, the mix a running shop produces and Debezium must capture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.source import vocab
from tailor.source.activity import Ids, build_activity
from tailor.source.catalog import build_catalog
from tailor.source.clock import DAY, TZ_INDEX, Calendar, from_epoch, to_epoch
from tailor.source.load import copy_into, set_sequences
from tailor.source.people import (
    NEVER,
    UA_BROWSER,
    UA_OS,
    UA_TEXT,
    Consents,
    Devices,
    People,
    build_people,
)

if TYPE_CHECKING:
    from tailor.source.generate import SeedSummary

NEW_CUSTOMER_SHARE = 0.01
PROFILE_EDIT_SHARE = 0.005
WITHDRAWAL_SHARE = 0.003
INSERT_ORDER = (  # foreign keys are checked: parents first
    "customers", "devices", "anonymous_ids", "customer_devices", "interests",
    "truth.customer_persons", "truth.persons", "orders", "order_items", "carts", "cart_items",
    "web_events", "email_events", "consents",
)
_VALID = r"^\s*[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}\s*$"


def _state(conn) -> dict:
    row = conn.execute(
        """
        select greatest(
            (select max(greatest(created_at, updated_at)) from customers),
            (select max(updated_at) from orders), (select max(updated_at) from carts),
            (select max(occurred_at) from web_events), (select max(occurred_at) from email_events),
            (select max(recorded_at) from consents)),
          (select coalesce(max(customer_id), 0) from customers),
          (select coalesce(max(person_key), 0) from truth.persons),
          (select coalesce(max(order_id), 0) from orders),
          (select coalesce(max(cart_id), 0) from carts),
          (select coalesce(max(event_id), 0) from web_events),
          (select coalesce(max(event_id), 0) from email_events),
          (select coalesce(max(consent_id), 0) from consents)
        """
    ).fetchone()
    keys = ("latest", "customer", "person", "order", "cart", "web", "email", "consent")
    return dict(zip(keys, row, strict=True))


def _existing_people(conn, catalog_leaves: int) -> tuple[People, Devices]:
    rows = conn.execute(
        """
        select c.customer_id, coalesce(c.email, ''), coalesce(c.timezone, 'UTC'),
               extract(epoch from c.created_at)::bigint,
               coalesce(tp.person_key, -c.customer_id), p.purchase_propensity, p.engagement,
               m.status, extract(epoch from m.recorded_at)::bigint
        from customers c
        left join truth.customer_persons tp using (customer_id)
        left join truth.persons p using (person_key)
        left join (
            select distinct on (customer_id) customer_id, status, recorded_at from consents
            where purpose = 'email_marketing'
            order by customer_id, recorded_at desc, consent_id desc
        ) m using (customer_id)
        order by c.customer_id
        """
    ).fetchall()
    cid, email, tz, created, pkey, prop, eng, mstatus, _recorded = zip(*rows, strict=True)
    n = len(cid)
    created_a = np.asarray(created, np.int64)
    prop_a = np.asarray([0.1 if p is None else p for p in prop], float)
    eng_a = np.asarray([0.35 if e is None else e for e in eng], float)
    granted = np.asarray([s == "granted" for s in mstatus])
    emails = pa.array(list(email))
    dev_rows = conn.execute(
        """
        select cd.customer_id, d.device_id, coalesce(d.os, ''), coalesce(d.browser, ''),
               coalesce(a.anonymous_id, 'anon_' || d.device_id)
        from customer_devices cd
        join devices d using (device_id)
        left join (select device_id, min(anonymous_id) as anonymous_id from anonymous_ids group by 1) a
          using (device_id)
        order by cd.customer_id, d.device_id
        """
    ).fetchall()
    ua_of = {(o, b): t for o, b, t in zip(UA_OS.to_pylist(), UA_BROWSER.to_pylist(), UA_TEXT.to_pylist(), strict=True)}
    d_cust = np.asarray([r[0] for r in dev_rows], np.int64)
    pos = np.searchsorted(np.asarray(cid), d_cust)
    dev_start = np.searchsorted(pos, np.arange(n))
    dev_count = np.searchsorted(pos, np.arange(n), side="right") - dev_start
    # customers without a device (imported ones) browse on a shared placeholder
    fallback = len(dev_rows)
    dev_start = np.where(dev_count > 0, dev_start, fallback)
    dev_count = np.maximum(dev_count, 1)
    devices = Devices(
        device_id=pa.array([r[1] for r in dev_rows] + [None], pa.string()),
        anonymous_id=pa.array([r[4] for r in dev_rows] + ["anon_unknown"]),
        user_agent=pa.array([ua_of.get((r[2], r[3]), UA_TEXT[0].as_py()) for r in dev_rows] + [UA_TEXT[0].as_py()]),
    )
    pk = np.asarray(pkey, np.int64)
    people = People(
        customer_id=np.asarray(cid, np.int64),
        person_key=pk,
        tz=np.asarray([TZ_INDEX.get(t, TZ_INDEX["UTC"]) for t in tz]),
        created_at=created_a,
        rate=prop_a / 30,
        engagement=eng_a,
        email=emails,
        email_ok=pc.match_substring_regex(emails, _VALID).to_numpy(zero_copy_only=False)
        & pc.not_equal(pc.utf8_lower(pc.utf8_trim_whitespace(emails)), "test@test.com").to_numpy(zero_copy_only=False),
        fav_leaf=(np.abs(pk) * 2_654_435_761) % catalog_leaves,
        mail_from=np.where(granted, created_a, NEVER),
        mail_until=np.full(n, NEVER),
        dev_start=dev_start,
        dev_count=dev_count,
    )
    return people, devices


def append_slice(
    settings: Settings,
    *,
    days: int,
    seed: int,
    progress: Callable[[str, float], None],
    until: datetime | None = None,
) -> SeedSummary:
    """Insert, update and delete like ``days`` more days of a running shop.

    The slice starts after the shop's latest timestamp and ends ``days`` later,
    but never after ``until`` (default: now) when the shop's clock is behind
    it: a pipeline run "as of now" right after must see all of the new
    activity, none of it in its future. Volumes scale with the real span.
    """
    from tailor.source.generate import HISTORY_DAYS, SeedSummary

    started = time.perf_counter()
    with connect("shop", settings) as conn:
        progress("reading the shop's current state", 0.05)
        st = _state(conn)
        start = to_epoch(st["latest"]) + 1
        end = start + days * DAY
        ceiling = to_epoch(until or datetime.now(UTC))
        if start < ceiling < end:
            end = ceiling
        span_days = (end - start) / DAY
        catalog = build_catalog(start - HISTORY_DAYS * DAY)
        cal = Calendar(start - 2 * DAY, end + 2 * DAY)
        rng = np.random.default_rng([seed, int(st["customer"]), start])
        people, devices = _existing_people(conn, len(catalog.leaf_ids))
        existing = len(people)
        n_new = max(1, round(existing * NEW_CUSTOMER_SHARE * span_days))
        progress(f"generating {n_new:,} new customers and {span_days:.1f} day(s) of activity", 0.2)
        new_people, new_devices, tables, consents = build_people(
            rng, cal, catalog, n_new, start, end,
            first_customer_id=st["customer"] + 1, first_person_key=st["person"] + 1,
            history_days=0, share_before=0.0, first_device_row=len(devices.device_id),
        )
        everyone = People.concat([people, new_people])
        all_devices = Devices.concat([devices, new_devices])
        ids = Ids(order=st["order"] + 1, cart=st["cart"] + 1, web_event=st["web"] + 1,
                  email_event=st["email"] + 1, consent=st["consent"] + 1)
        activity, unsubscribed = build_activity(rng, cal, catalog, everyone, all_devices, start, end, ids)
        tables.update(activity)
        # a few people withdraw email consent in the preference centre
        granted = np.flatnonzero(people.mail_from < NEVER)
        quit_ = rng.choice(granted, size=min(len(granted), max(1, round(existing * WITHDRAWAL_SHARE * span_days))), replace=False) if len(granted) else np.empty(0, np.int64)
        quit_at = start + (rng.random(len(quit_)) * (end - start)).astype(np.int64)
        withdrawals = Consents(people.customer_id[quit_], np.zeros(len(quit_), np.int64), np.full(len(quit_), 2), np.full(len(quit_), 2), quit_at)
        tables["consents"] = Consents.concat([consents, unsubscribed, withdrawals]).table(ids.consent)
        progress("writing inserts", 0.5)
        inserted = {}
        for name in INSERT_ORDER:
            copy_into(conn, name, tables[name])
            inserted[name] = tables[name].num_rows
        progress("writing updates and deletes", 0.8)
        updated, deleted = _mutations(conn, rng, people, start, end, span_days)
        set_sequences(conn)
    progress("done", 1.0)
    return SeedSummary(
        mode="incremental", seed=seed, customers=n_new,
        window_start=from_epoch(start), window_end=from_epoch(end),
        inserted=inserted, updated=updated, deleted=deleted, seconds=time.perf_counter() - started,
    )


def _mutations(conn, rng: np.random.Generator, people: People, start: int, end: int,
               days: float) -> tuple[dict[str, int], dict[str, int]]:
    """Profile edits, order status progress and purging of stale abandoned carts."""
    n = len(people)
    k = min(n, max(1, round(n * PROFILE_EDIT_SHARE * days)))
    who = np.sort(rng.choice(n, size=k, replace=False))
    when = start + (rng.random(k) * (end - start)).astype(np.int64)
    city = rng.integers(0, len(vocab.CITIES), k)
    rename = rng.random(k) < 0.3
    surname = rng.integers(0, len(vocab.LAST_NAMES), k)
    with conn.cursor() as cur:
        cur.executemany(
            """
            update customers set city = %s, country = %s, timezone = %s,
                   last_name = case when %s then %s else last_name end,
                   updated_at = to_timestamp(%s)
            where customer_id = %s
            """,
            [(vocab.CITIES[c][0], vocab.CITIES[c][1], vocab.CITIES[c][2], bool(r), vocab.LAST_NAMES[s],
              int(w), int(people.customer_id[i])) for i, c, r, s, w in zip(who, city, rename, surname, when, strict=True)],
        )
    # orders move along their lifecycle once enough time has passed
    moved = 0
    for old, new, after in (("shipped", "delivered", 3 * DAY), ("paid", "shipped", DAY), ("placed", "paid", 600)):
        moved += conn.execute(
            """
            update orders set status = %s, updated_at = to_timestamp(%s)
            where status = %s and ordered_at < to_timestamp(%s)
            """,
            (new, end - 1, old, end - after),
        ).rowcount
    # stale abandoned carts are purged (their items go with them: on delete cascade)
    limit = max(5, round(0.002 * n * days))
    items = conn.execute(
        """
        select count(*) from cart_items where cart_id in (
            select cart_id from carts where status = 'abandoned' and updated_at < to_timestamp(%s)
            order by cart_id limit %s)
        """,
        (end - 60 * DAY, limit),
    ).fetchone()[0]
    purged = conn.execute(
        """
        delete from carts where cart_id in (
            select cart_id from carts where status = 'abandoned' and updated_at < to_timestamp(%s)
            order by cart_id limit %s)
        """,
        (end - 60 * DAY, limit),
    ).rowcount
    return {"customers": k, "orders": moved}, {"carts": purged, "cart_items": items}
