"""What customers do in a time window: orders, carts, web sessions, emails.

Everything is drawn for all customers at once (numpy), so a window of 180
days for 50k customers costs about as much as one day for a few: the same
code serves the fresh seed and the incremental slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailor.source import vocab
from tailor.source.catalog import Catalog, pick_products
from tailor.source.clock import DAY, TIMEZONES, Calendar, from_epoch
from tailor.source.ids import as_text, concat, hex_tokens, pick
from tailor.source.people import UA_P, UA_TEXT, Consents, Devices, People, ts

GUEST_OF_REGISTERED = 0.07   # orders a registered person places as a guest
UNKNOWN_GUESTS = 0.04        # extra orders from people without an account
ABANDONMENT = 0.70           # share of carts that never convert
BROWSE_PER_DAY = 0.4 / 180   # browsing-only sessions per customer and day
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
EMAIL_EVENTS = ("sent", "delivered", "open", "click", "bounce", "unsubscribe", "spam_report")
ORDER_STATUS = ("placed", "paid", "shipped", "delivered", "cancelled", "refunded")
SHOP = "https://shop.example"


@dataclass
class Ids:
    """Next free id per identity column (fresh: 1; incremental: max + 1)."""

    order: int = 1
    cart: int = 1
    web_event: int = 1
    email_event: int = 1
    consent: int = 1


def _spread(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (rng.random(len(lo)) * np.maximum(hi - lo, 1)).astype(np.int64)


def build_activity(
    rng: np.random.Generator,
    cal: Calendar,
    catalog: Catalog,
    people: People,
    devices: Devices,
    start: int,
    end: int,
    ids: Ids,
    *,
    campaign_share: float = 0.06,
) -> tuple[dict[str, pa.Table], Consents]:
    """Tables of activity in ``[start, end)``; consents from unsubscribe links come back too."""
    n = len(people)
    active_lo = np.maximum(people.created_at, start)
    active = np.clip(end - active_lo, 0, None)

    # ---- orders ---------------------------------------------------------------------------
    n_orders = rng.poisson(people.rate * active / DAY)
    owner = np.repeat(np.arange(n), n_orders)
    n_guest = rng.poisson(UNKNOWN_GUESTS * len(owner)) if len(owner) else 0
    owner = np.concatenate([owner, np.full(n_guest, -1)])
    m = len(owner)
    known = owner >= 0
    own = np.where(known, owner, 0)
    guest_tz = rng.integers(0, len(TIMEZONES) - 1, m)
    tz = np.where(known, people.tz[own], guest_tz)
    lo = np.where(known, active_lo[own], start)
    t = cal.sample(rng, lo, np.full(m, end), tz)
    as_guest = known & (rng.random(m) < GUEST_OF_REGISTERED)
    sort = np.argsort(t, kind="stable")
    owner, known, own, tz, t, as_guest = owner[sort], known[sort], own[sort], tz[sort], t[sort], as_guest[sort]
    order_id = np.arange(ids.order, ids.order + m, dtype=np.int64)
    cust_id = pa.array(people.customer_id[own], mask=~known | as_guest)
    stored = people.email.take(pa.array(own))
    clean = pc.utf8_lower(pc.utf8_trim_whitespace(stored))
    guest_mail = concat(
        pick([vocab.ascii_fold(x) for x in vocab.FEMALE_FIRST + vocab.MALE_FIRST], rng.integers(0, 100, m)),
        ".", pick([vocab.ascii_fold(x) for x in vocab.LAST_NAMES], rng.integers(0, len(vocab.LAST_NAMES), m)),
        as_text(rng.integers(1, 99_999, m)), "@", pick(vocab.GUEST_DOMAINS, rng.integers(0, len(vocab.GUEST_DOMAINS), m)),
    )
    order_email = pc.if_else(pa.array(~known), guest_mail, pc.if_else(pa.array(as_guest), clean, stored))
    # devices: a random own device for registered people, none for unknown guests
    dev = np.where(known, people.dev_start[own] + (rng.random(m) * people.dev_count[own]).astype(np.int64), -1)

    lines = 1 + np.minimum(rng.geometric(0.55, m) - 1, 4)
    leaf = np.where(known & (rng.random(m) < 0.6), people.fav_leaf[own],
                    rng.choice(len(catalog.leaf_ids), size=m, p=catalog.leaf_weight))
    basket, row = pick_products(rng, catalog, leaf, lines)
    qty = rng.choice([1, 2, 3], size=len(row), p=[0.82, 0.14, 0.04])
    unit = np.round(catalog.price[row] * np.where(rng.random(len(row)) < 0.1, 0.8, 1.0), 2)
    total = np.round(np.bincount(basket, qty * unit, minlength=m), 2)
    line_no = np.arange(len(basket)) - (np.cumsum(lines) - lines)[basket] + 1
    age = end - t
    u = rng.random(m)
    status = np.select(
        [age < DAY, age < 3 * DAY, age < 7 * DAY, u < 0.03, u < 0.08],
        [np.where(u < 0.4, 0, 1), np.where(u < 0.5, 1, 2), np.where(u < 0.5, 2, 3), 4, 5],
        3,
    )
    delay = np.choose(status, [np.zeros(m), 600 + 0 * u, (1 + u) * DAY, (2 + 3 * u) * DAY, (1 + 47 * u) * 3600, (7 + 13 * u) * DAY]).astype(np.int64)
    orders = pa.table({
        "order_id": order_id,
        "customer_id": cust_id,
        "email": order_email,
        "status": pick(ORDER_STATUS, status),
        "currency": pa.array(np.full(m, "EUR")),
        "order_total": total,
        "device_id": devices.device_id.take(pa.array(dev, mask=dev < 0)),
        "ordered_at": ts(t),
        "updated_at": ts(np.minimum(t + delay, end - 1)),
    })
    order_items = pa.table({
        "order_id": order_id[basket],
        "line_no": pa.array(line_no, pa.int16()),
        "product_id": catalog.product_id[row],
        "quantity": pa.array(qty, pa.int32()),
        "unit_price": unit,
    })

    # ---- carts: one converted per order, abandoned/open ones on top -------------------------------
    n_ab = round(m * ABANDONMENT / (1 - ABANDONMENT))
    weight = (people.rate + 0.002) * active
    ab_count = rng.multinomial(n_ab, weight / weight.sum()) if n_ab and weight.sum() > 0 else np.zeros(n, np.int64)
    ab_owner = np.repeat(np.arange(n), ab_count)
    a = len(ab_owner)
    ab_created = cal.sample(rng, active_lo[ab_owner], np.full(a, end), people.tz[ab_owner])
    ab_updated = np.minimum(ab_created + rng.integers(60, 40 * 60, a), end - 1)
    ab_logged_in = rng.random(a) < 0.8
    ab_dev = people.dev_start[ab_owner] + (rng.random(a) * people.dev_count[ab_owner]).astype(np.int64)
    ab_lines = rng.choice([1, 2, 3], size=a, p=[0.6, 0.3, 0.1])
    ab_leaf = np.where(rng.random(a) < 0.5, people.fav_leaf[ab_owner], rng.choice(len(catalog.leaf_ids), size=a, p=catalog.leaf_weight))
    ab_basket, ab_row = pick_products(rng, catalog, ab_leaf, ab_lines)

    conv_created = t - rng.integers(3 * 60, 60 * 60, m)
    guest_anon = hex_tokens(rng, m, 8, "anon_")
    anon_pool = pa.concat_arrays([devices.anonymous_id, guest_anon])
    conv_anon_idx = np.where(dev >= 0, dev, len(devices.anonymous_id) + np.arange(m))

    c_created = np.concatenate([conv_created, ab_created])
    c_updated = np.concatenate([t, ab_updated])
    c_status = np.concatenate([np.full(m, 1), np.where(end - ab_updated < 2 * DAY, 0, 2)])
    c_cust = np.concatenate([people.customer_id[own], people.customer_id[ab_owner]])
    c_cust_null = np.concatenate([~known | as_guest, ~ab_logged_in])
    c_anon = np.concatenate([conv_anon_idx, ab_dev])
    c_order = np.concatenate([order_id, np.zeros(a, np.int64)])
    c_sort = np.argsort(c_created, kind="stable")
    cart_id = np.empty(m + a, np.int64)
    cart_id[c_sort] = np.arange(ids.cart, ids.cart + m + a)
    carts = pa.table({
        "cart_id": cart_id[c_sort],
        "customer_id": pa.array(c_cust[c_sort], mask=c_cust_null[c_sort]),
        "anonymous_id": anon_pool.take(pa.array(c_anon[c_sort])),
        "status": pick(("open", "converted", "abandoned"), c_status[c_sort]),
        "order_id": pa.array(c_order[c_sort], mask=c_status[c_sort] != 1),
        "created_at": ts(c_created[c_sort]),
        "updated_at": ts(c_updated[c_sort]),
    })
    i_cart = np.concatenate([cart_id[:m][basket], cart_id[m:][ab_basket]])
    i_lo = np.concatenate([conv_created[basket], ab_created[ab_basket]])
    i_hi = np.concatenate([t[basket], ab_updated[ab_basket]])
    cart_items = pa.table({
        "cart_id": i_cart,
        "product_id": np.concatenate([catalog.product_id[row], catalog.product_id[ab_row]]),
        "quantity": pa.array(np.concatenate([qty, np.ones(len(ab_row), np.int64)]), pa.int32()),
        "added_at": ts(_spread(rng, i_lo, i_hi)),
    })

    # ---- web events: checkout sessions, abandoned-cart sessions, browsing ---------------------------
    n_browse = rng.poisson(BROWSE_PER_DAY * (0.5 + people.engagement) * active / DAY)
    br_owner = np.repeat(np.arange(n), n_browse)
    b = len(br_owner)
    br_t = cal.sample(rng, active_lo[br_owner], np.full(b, end), people.tz[br_owner])
    br_dev = people.dev_start[br_owner] + (rng.random(b) * people.dev_count[br_owner]).astype(np.int64)
    br_leaf = rng.choice(len(catalog.leaf_ids), size=b, p=catalog.leaf_weight)
    br_row = catalog.leaf_start[br_leaf] + (catalog.leaf_count[br_leaf] * rng.random(b) ** 2).astype(np.int64)

    first_row = row[np.cumsum(lines) - lines]
    first_ab = ab_row[np.cumsum(ab_lines) - ab_lines]
    sessions = m + a + b
    s_cust = np.concatenate([people.customer_id[own], people.customer_id[ab_owner], people.customer_id[br_owner]])
    s_cust_null = np.concatenate([~known | as_guest, ~ab_logged_in, rng.random(b) < 0.4])
    s_anon = np.concatenate([conv_anon_idx, ab_dev, br_dev])
    s_dev = np.concatenate([dev, ab_dev, br_dev])
    s_tz = np.concatenate([tz, people.tz[ab_owner], people.tz[br_owner]])
    s_ua = np.concatenate([np.where(dev >= 0, dev, -1), ab_dev, br_dev])
    # (session, event type, product row, order id, offset seconds)
    ev_session = np.concatenate([np.tile(np.arange(m), 4), np.tile(np.arange(m, m + a), 2), np.tile(np.arange(m + a, sessions), 2)])
    ev_type = np.concatenate([np.repeat([1, 2, 3, 4], m), np.repeat([1, 2], a), np.repeat([0, 1], b)])
    ev_row = np.concatenate([first_row, first_row, np.full(2 * m, -1), first_ab, first_ab, np.full(b, -1), br_row])
    ev_order = np.concatenate([np.full(3 * m, -1), order_id, np.full(2 * a + 2 * b, -1)])
    base = np.concatenate([conv_created, ab_created, br_t])[ev_session]
    step = np.concatenate([
        np.zeros(m), rng.integers(20, 240, m), (t - conv_created - 60), (t - conv_created),
        np.zeros(a), rng.integers(20, 180, a), np.zeros(b), rng.integers(10, 300, b),
    ]).astype(np.int64)
    occurred = np.minimum(base + step, end - 1)
    e = len(ev_session)
    ev_sort = np.argsort(occurred, kind="stable")
    ev_session, ev_type, ev_row, ev_order, occurred = (x[ev_sort] for x in (ev_session, ev_type, ev_row, ev_order, occurred))
    first_in_session = ev_type == np.where(ev_session < m, 1, np.where(ev_session < m + a, 1, 0))
    sid = hex_tokens(rng, sessions, 8, "s_")
    ua_guest = pick(UA_TEXT, rng.choice(len(UA_P), size=m, p=UA_P))
    ua_pool = pa.concat_arrays([devices.user_agent, ua_guest])
    s_ua = np.where(s_ua >= 0, s_ua, len(devices.user_agent) + np.arange(sessions) % max(m, 1))
    page = concat(SHOP, pc.choose(pa.array((ev_type == 0) & (rng.random(e) < 0.5), pa.int8()), pa.scalar("/"), concat("/c/", as_text(catalog.leaf_ids[np.clip(ev_row, 0, None) % len(catalog.leaf_ids)]))))
    product_url = concat(SHOP, "/products/", as_text(catalog.product_id[np.clip(ev_row, 0, None)]))
    url = pc.choose(pa.array(ev_type, pa.int8()), page, product_url, product_url,
                    pa.scalar(f"{SHOP}/checkout"), pa.scalar(f"{SHOP}/checkout/confirmation"))
    ref_idx = rng.integers(0, len(vocab.REFERRERS), e)
    referrer = pick(vocab.REFERRERS, ref_idx)
    referrer = pc.if_else(pa.array(first_in_session & (ref_idx > 0)), referrer, pa.nulls(e, pa.string()))
    order_pos = np.where(ev_order >= 0, ev_order - ids.order, 0)
    revenue = total[order_pos] if m else np.zeros(e)
    props = pc.if_else(pa.array(ev_type == 4), concat('{"revenue": ', as_text(np.round(revenue, 2)), ', "currency": "EUR"}'), pa.scalar("{}"))
    dev_of_event = s_dev[ev_session]
    web_events = pa.table({
        "event_id": np.arange(ids.web_event, ids.web_event + e, dtype=np.int64),
        "message_id": hex_tokens(rng, e, 16),
        "event_type": pick(EVENT_TYPES, ev_type),
        "customer_id": pa.array(s_cust[ev_session], mask=s_cust_null[ev_session]),
        "anonymous_id": anon_pool.take(pa.array(s_anon[ev_session])),
        "device_id": devices.device_id.take(pa.array(dev_of_event, mask=dev_of_event < 0)),
        "session_id": sid.take(pa.array(ev_session)),
        "product_id": pa.array(catalog.product_id[np.clip(ev_row, 0, None)], mask=ev_row < 0),
        "order_id": pa.array(ev_order, mask=ev_order < 0),
        "url": url,
        "referrer": referrer,
        "user_agent": ua_pool.take(pa.array(s_ua[ev_session])),
        "timezone": pick(TIMEZONES, s_tz[ev_session]),
        "properties": props,
        "occurred_at": ts(occurred),
        "received_at": ts(occurred + rng.integers(0, 3, e)),
    })

    email_events, unsub = _email_events(rng, people, start, end, ids, campaign_share)
    tables = {
        "orders": orders,
        "order_items": order_items,
        "carts": carts,
        "cart_items": cart_items,
        "web_events": web_events,
        "email_events": email_events,
    }
    return tables, unsub


def campaign_times(start: int, end: int) -> list[tuple[int, str]]:
    """Newsletter every Tuesday 08:00 UTC, a promotion every other Friday 16:00 UTC."""
    out = []
    first_day = start // DAY
    for day in range(first_day, end // DAY + 1):
        weekday = (day + 3) % 7
        stamp = from_epoch(day * DAY).strftime("%Y%m%d")
        if weekday == 1:
            out.append((day * DAY + 8 * 3600, f"cmp-{stamp}-newsletter"))
        elif weekday == 4 and (day // 7) % 2 == 0:
            out.append((day * DAY + 16 * 3600, f"cmp-{stamp}-promo"))
    return [(t, name) for t, name in out if start <= t < end]


def _email_events(
    rng: np.random.Generator, people: People, start: int, end: int, ids: Ids, share: float
) -> tuple[pa.Table, Consents]:
    """Campaign sends and what recipients did; engagement fades with time since signup."""
    cols: dict[str, list[np.ndarray]] = {"cust": [], "camp": [], "type": [], "at": []}
    unsub_cust, unsub_at = [], []
    campaigns = campaign_times(start, end)
    until = people.mail_until.copy()
    for c, (tc, _) in enumerate(campaigns):
        eligible = (people.mail_from <= tc) & (until > tc) & (people.created_at <= tc)
        who = np.flatnonzero(eligible & (rng.random(len(people)) < share))
        k = len(who)
        sent = tc + rng.integers(0, 1800, k)
        bounce = ~people.email_ok[who] | (rng.random(k) < 0.015)
        ok = ~bounce
        age_days = (tc - people.created_at[who]) / DAY
        p_open = np.clip(0.05 + 0.6 * people.engagement[who] * np.exp(-age_days / 150), 0, 0.95)
        opened = ok & (rng.random(k) < p_open)
        open_at = sent + rng.exponential(4 * 3600, k).astype(np.int64)
        clicked = opened & (rng.random(k) < 0.22)
        click_at = open_at + rng.integers(5, 600, k)
        unsub = ok & (rng.random(k) < 0.0035)
        unsub_t = np.where(opened, open_at, sent) + rng.integers(30, 3600, k)
        spam = ok & ~unsub & (rng.random(k) < 0.0005)
        until[who[unsub]] = np.minimum(until[who[unsub]], unsub_t[unsub])
        unsub_cust.append(people.customer_id[who[unsub]])
        unsub_at.append(unsub_t[unsub])
        for mask, etype, at in (
            (np.ones(k, bool), 0, sent), (ok, 1, sent + 2), (opened, 2, open_at), (clicked, 3, click_at),
            (bounce, 4, sent + 5), (unsub, 5, unsub_t), (spam, 6, open_at + 60),
        ):
            cols["cust"].append(who[mask])
            cols["camp"].append(np.full(mask.sum(), c))
            cols["type"].append(np.full(mask.sum(), etype))
            cols["at"].append(at[mask])
    if campaigns:
        cust, camp, etype, at = (np.concatenate(cols[x]) for x in ("cust", "camp", "type", "at"))
    else:
        cust = camp = etype = at = np.empty(0, np.int64)
    keep = at < end  # opens after the window happen in a later slice's time
    cust, camp, etype, at = cust[keep], camp[keep], etype[keep], at[keep]
    order = np.argsort(at, kind="stable")
    cust, camp, etype, at = cust[order], camp[order], etype[order], at[order]
    n = len(cust)
    camp_names = pick([name for _, name in campaigns] or [""], camp)
    email = pc.utf8_lower(pc.utf8_trim_whitespace(people.email)).take(pa.array(cust, pa.int64()))
    table = pa.table({
        "event_id": np.arange(ids.email_event, ids.email_event + n, dtype=np.int64),
        "customer_id": people.customer_id[cust],
        "email": email,
        "campaign_id": camp_names,
        "event_type": pick(EMAIL_EVENTS, etype),
        "url": pc.if_else(pa.array(etype == 3), concat(f"{SHOP}/?utm_source=email&utm_campaign=", camp_names), pa.nulls(n, pa.string())),
        "occurred_at": ts(at),
    })
    uc = np.concatenate(unsub_cust) if unsub_cust else np.empty(0, np.int64)
    ua = np.concatenate(unsub_at) if unsub_at else np.empty(0, np.int64)
    keep = ua < end
    uc, ua = uc[keep], ua[keep]
    consents = Consents(uc, np.zeros(len(uc), np.int64), np.full(len(uc), 2), np.full(len(uc), 3), ua)
    return table, consents

