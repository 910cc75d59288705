"""Synthetic people: persons, their customer records, devices, consents, interests.

A *person* is the ground truth; a *customer* is a row the shop holds. Most
persons have one record, ~6.5% have two (re-registration with a differently
typed email, a second address, a guest account), a few share a device with a
household member. Dirt (case, whitespace, broken addresses, missing fields)
is added here, because the warehouse must learn to clean it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailor.source import vocab
from tailor.source.catalog import Catalog
from tailor.source.clock import DAY, TIMEZONES, TZ_INDEX, Calendar
from tailor.source.ids import as_text, concat, digits, hex_tokens, pattern_fill, pick

NEVER = np.iinfo(np.int64).max
DUPLICATE_SHARE = 0.065           # persons with a second customer record
HOUSEHOLD_SHARE = 0.02            # persons sharing a device with another person
ORDERS_PER_DAY = 0.6 / 180        # mean purchase rate of a person (orders per day)
PURPOSES = ("email_marketing", "analytics", "personalization", "enrichment")
CONSENT_STATUS = ("granted", "denied", "withdrawn")
CONSENT_SOURCES = ("signup_form", "checkout", "preference_center", "unsubscribe_link", "import", "api")
INTEREST_SOURCES = ("signup_form", "preference_center", "survey")

_FLAT_UA = [
    (dtype, os_, browser, ua, share * weight / sum(w for *_, w in uas))
    for dtype, (share, uas) in vocab.DEVICES.items()
    for os_, browser, ua, weight in uas
]
UA_TYPE = pa.array([u[0] for u in _FLAT_UA])
UA_OS = pa.array([u[1] for u in _FLAT_UA])
UA_BROWSER = pa.array([u[2] for u in _FLAT_UA])
UA_TEXT = pa.array([u[3] for u in _FLAT_UA])
UA_P = np.asarray([u[4] for u in _FLAT_UA]) / sum(u[4] for u in _FLAT_UA)


@dataclass
class Devices:
    """Devices and the main anonymous id each carries (pools indexed by row)."""

    device_id: pa.Array
    anonymous_id: pa.Array
    user_agent: pa.Array

    @staticmethod
    def concat(parts: list[Devices]) -> Devices:
        return Devices(*(pa.concat_arrays([getattr(p, f) for p in parts])
                         for f in ("device_id", "anonymous_id", "user_agent")))


@dataclass
class People:
    """Per customer record: what activity generation needs to know about it."""

    customer_id: np.ndarray
    person_key: np.ndarray
    tz: np.ndarray
    created_at: np.ndarray
    rate: np.ndarray           # expected orders per day for this record
    engagement: np.ndarray
    email: pa.Array            # as stored, dirt included
    email_ok: np.ndarray       # a deliverable address
    fav_leaf: np.ndarray       # favourite leaf category (index into the catalog)
    mail_from: np.ndarray      # email marketing granted since (NEVER if not)
    mail_until: np.ndarray     # ... until (withdrawal), NEVER if still granted
    dev_start: np.ndarray      # first row of the record's own devices
    dev_count: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_id)

    @staticmethod
    def concat(parts: list[People]) -> People:
        """Records of several batches (existing customers + new sign-ups) as one."""
        fields = {}
        for name in People.__dataclass_fields__:
            values = [getattr(p, name) for p in parts]
            fields[name] = (pa.concat_arrays(values) if isinstance(values[0], pa.Array)
                            else np.concatenate(values))
        return People(**fields)


@dataclass
class Consents:
    """Consent rows before ids are assigned (several sources add to them)."""

    customer_id: np.ndarray
    purpose: np.ndarray
    status: np.ndarray
    source: np.ndarray
    recorded_at: np.ndarray

    @staticmethod
    def concat(parts: list[Consents]) -> Consents:
        return Consents(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                          ("customer_id", "purpose", "status", "source", "recorded_at")))

    def table(self, first_id: int) -> pa.Table:
        order = np.argsort(self.recorded_at, kind="stable")
        return pa.table({
            "consent_id": np.arange(first_id, first_id + len(order), dtype=np.int64),
            "customer_id": self.customer_id[order],
            "purpose": pick(PURPOSES, self.purpose[order]),
            "status": pick(CONSENT_STATUS, self.status[order]),
            "source": pick(CONSENT_SOURCES, self.source[order]),
            "recorded_at": ts(self.recorded_at[order]),
        })


def ts(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds as a UTC timestamp column (what COPY receives)."""
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.int64()).cast(pa.timestamp("s", tz="UTC"))


def _names() -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray, pa.Array, pa.Array]:
    first = [*vocab.FEMALE_FIRST, *vocab.MALE_FIRST, *vocab.NEUTRAL_FIRST]
    bounds = np.cumsum([0, len(vocab.FEMALE_FIRST), len(vocab.MALE_FIRST), len(vocab.NEUTRAL_FIRST)])
    return (
        pa.array(first), pa.array([vocab.ascii_fold(n) for n in first]), bounds[:-1], np.diff(bounds),
        pa.array(list(vocab.LAST_NAMES)), pa.array([vocab.ascii_fold(n) for n in vocab.LAST_NAMES]),
    )


def _local_part(rng: np.random.Generator, first: pa.Array, last: pa.Array, birth_year: np.ndarray) -> pa.Array:
    n = len(first)
    style = rng.integers(0, 6, n)
    num = as_text(rng.integers(1, 999, n))
    year = as_text(birth_year % 100 + 100).cast(pa.string())
    year = pc.utf8_slice_codeunits(year, 1)
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    return pc.choose(
        pa.array(style, pa.int8()),
        concat(first, ".", last),
        concat(first, last),
        concat(initial, ".", last),
        concat(first, "_", last),
        concat(first, ".", last, year),
        concat(first, num),
    )


def build_people(
    rng: np.random.Generator,
    cal: Calendar,
    catalog: Catalog,
    n: int,
    start: int,
    end: int,
    *,
    first_customer_id: int,
    first_person_key: int,
    history_days: int,
    share_before: float,
    first_device_row: int = 0,
) -> tuple[People, Devices, dict[str, pa.Table], Consents]:
    """``n`` customer records (and the persons behind them) signing up before ``end``.

    ``share_before`` of the persons signed up in the ``history_days`` before
    ``start`` (fresh seed), the rest inside ``[start, end)``.
    """
    n_persons = max(1, round(n / (1 + DUPLICATE_SHARE))) if n > 1 else n
    n_dup = n - n_persons
    P = n_persons
    first_pool, first_ascii, g_start, g_count, last_pool, last_ascii = _names()

    # ---- persons ---------------------------------------------------------------
    gender = rng.choice(3, size=P, p=[0.51, 0.46, 0.03])
    first_idx = g_start[gender] + (rng.random(P) * g_count[gender]).astype(np.int64)
    last_idx = rng.integers(0, len(vocab.LAST_NAMES), P)
    city_w = np.asarray([c[5] for c in vocab.CITIES], dtype=float)
    city = rng.choice(len(vocab.CITIES), size=P, p=city_w / city_w.sum())
    age = np.clip(rng.normal(39, 13, P), 18, 85)
    birth = ((end / DAY) - age * 365.25 - rng.random(P) * 365).astype(np.int64)  # days since epoch
    income = rng.integers(0, len(vocab.INCOME_BANDS), P)
    rate = rng.gamma(0.3, ORDERS_PER_DAY / 0.3, P)
    rank = np.argsort(np.argsort(rate)) / max(P - 1, 1)
    engagement = np.clip(0.75 * rng.beta(2, 3, P) + 0.25 * rank, 0, 1)
    fav_leaf = rng.choice(len(catalog.leaf_ids), size=P, p=catalog.leaf_weight)
    before = rng.random(P) < share_before
    hist = history_days * DAY
    p_created = np.where(
        before,
        start - (rng.random(P) * hist).astype(np.int64),
        start + ((rng.random(P) ** 0.8) * (end - start)).astype(np.int64),
    )
    p_created = cal.sample(rng, np.maximum(p_created - DAY // 2, start - hist), np.minimum(p_created + DAY // 2, end), np.asarray([TZ_INDEX[vocab.CITIES[c][2]] for c in range(len(vocab.CITIES))])[city])

    # households: a partner takes the host's last name and city, and shares a device
    partner = np.flatnonzero(rng.random(P) < HOUSEHOLD_SHARE)
    host = rng.integers(0, P, len(partner))
    keep = host != partner
    partner, host = partner[keep], host[keep]
    last_idx[partner] = last_idx[host]
    city[partner] = city[host]

    # ---- records -----------------------------------------------------------------
    dup_person = rng.choice(P, size=n_dup, replace=False) if n_dup else np.empty(0, np.int64)
    kind = np.concatenate([np.zeros(P, np.int8), rng.choice([1, 2, 3], size=n_dup, p=[0.45, 0.35, 0.2]).astype(np.int8)])
    person = np.concatenate([np.arange(P), dup_person])
    created = p_created[person].copy()
    d = slice(P, n)
    created[d] = created[d] + (rng.random(n_dup) * np.maximum(end - created[d], 1)).astype(np.int64)
    order = np.argsort(created, kind="stable")
    person, kind, created = person[order], kind[order], created[order]
    customer_id = np.arange(first_customer_id, first_customer_id + n, dtype=np.int64)
    has_dup = np.zeros(P, bool)
    has_dup[dup_person] = True
    share = np.where(has_dup[person], np.where(kind == 0, 0.6, 0.4), 1.0)
    rec_rate = rate[person] * share

    # ---- emails --------------------------------------------------------------------
    f_ascii = first_ascii.take(pa.array(first_idx))
    l_ascii = last_ascii.take(pa.array(last_idx))
    birth_year = (birth // 365.25 + 1970).astype(np.int64)
    dom_w = np.asarray([w for _, w in vocab.EMAIL_DOMAINS], float)
    dom = rng.choice(len(vocab.EMAIL_DOMAINS), size=P, p=dom_w / dom_w.sum())
    domains = pa.array([d_ for d_, _ in vocab.EMAIL_DOMAINS])
    local = _local_part(rng, f_ascii, l_ascii, birth_year)
    email = concat(local, "@", domains.take(pa.array(dom)))
    dup_mask = pa.array(pa.table({"e": email}).to_pandas()["e"].duplicated().to_numpy())
    key_text = as_text(np.arange(first_person_key, first_person_key + P))
    email = pc.if_else(dup_mask, concat(local, key_text, "@", domains.take(pa.array(dom))), email)
    dom2 = (dom + 1 + rng.integers(0, len(vocab.EMAIL_DOMAINS) - 1, P)) % len(vocab.EMAIL_DOMAINS)
    email2 = concat(_local_part(rng, f_ascii, l_ascii, birth_year), key_text, "@", domains.take(pa.array(dom2)))

    rec_email = pc.if_else(pa.array(kind == 2), email2.take(pa.array(person)), email.take(pa.array(person)))
    u = rng.random(n)
    variant = (kind == 1) | (u < 0.16)
    styled = pc.choose(
        pa.array(rng.integers(0, 4, n), pa.int8()),
        pc.utf8_capitalize(rec_email),
        pc.utf8_upper(rec_email),
        concat("  ", rec_email),
        concat(pc.utf8_title(rec_email), " "),
    )
    rec_email = pc.if_else(pa.array(variant), styled, rec_email)
    invalid = (kind != 1) & (rng.random(n) < 0.015)
    broken = pc.choose(
        pa.array(rng.integers(0, 5, n), pa.int8()),
        pc.replace_substring(rec_email, "@", ""),
        pc.replace_substring(rec_email, "@", "@@"),
        pa.array(np.full(n, "test@test.com")),
        pc.replace_substring_regex(rec_email, r"\.[a-z]+$", ""),
        pc.replace_substring(rec_email, ".", ",", max_replacements=1),
    )
    rec_email = pc.if_else(pa.array(invalid), broken, rec_email)
    # email_ok: structurally deliverable (a test address or broken syntax bounces)
    email_ok = ~invalid

    # ---- profile columns with gaps -----------------------------------------------------
    def nulls(p: float, protect: np.ndarray | None = None) -> pa.Array:
        m = rng.random(n) < p
        if protect is not None:
            m &= ~protect
        return pa.array(m)

    p_first = pick(first_pool, first_idx[person])
    p_last = pick(last_pool, last_idx[person])
    shout = (kind == 2) & (rng.random(n) < 0.2)
    p_last = pc.if_else(pa.array(shout), pc.utf8_upper(p_last), p_last)
    kind2_person = np.zeros(P, bool)
    kind2_person[person[kind == 2]] = True
    protect = kind2_person[person]
    city_of = city[person]
    phone_present = (rng.random(P) < 0.6) | kind2_person
    phones = np.empty(P, dtype=object)
    phone_txt = pa.array(np.zeros(P, dtype=np.int64)).cast(pa.string())
    postcode_p = np.empty(P, dtype="S9")
    for c, (_, _, _, pattern, prefix, _) in enumerate(vocab.CITIES):
        rows = np.flatnonzero(city == c)
        if not len(rows):
            continue
        postcode_p[rows] = pattern_fill(rng, len(rows), pattern)
        phones[rows] = prefix
    phone_txt = concat(pa.array(phones.astype(str)), " ", as_text(digits(rng, P, 7)))
    phone_txt = pc.if_else(pa.array(phone_present), phone_txt, pa.nulls(P, pa.string()))
    city_names = pa.array([c[0] for c in vocab.CITIES])
    countries = pa.array([c[1] for c in vocab.CITIES])
    city_tz = np.asarray([TZ_INDEX[c[2]] for c in vocab.CITIES])
    no_city = rng.random(n) < 0.08
    no_city &= ~protect
    hashes = concat("$2b$12$", hex_tokens(rng, n, 26))
    updated = created + np.where(rng.random(n) < 0.2, (rng.random(n) * (end - created)).astype(np.int64), 0)
    birth_col = pa.array(birth[person].astype("datetime64[D]"))
    customers = pa.table({
        "customer_id": customer_id,
        "email": rec_email,
        "first_name": pc.if_else(nulls(0.03, protect), pa.nulls(n, pa.string()), p_first),
        "last_name": pc.if_else(nulls(0.03, protect), pa.nulls(n, pa.string()), p_last),
        "birth_date": pc.if_else(nulls(0.25, protect), pa.nulls(n, pa.date32()), birth_col),
        "gender": pc.if_else(nulls(0.2), pa.nulls(n, pa.string()), pick(("female", "male", "non_binary"), gender[person])),
        "phone": phone_txt.take(pa.array(person)),
        "city": pc.if_else(pa.array(no_city), pa.nulls(n, pa.string()), pick(city_names, city_of)),
        "postcode": pc.if_else(pa.array(no_city), pa.nulls(n, pa.string()), as_text(postcode_p[person])),
        "country": pc.if_else(nulls(0.03, protect), pa.nulls(n, pa.string()), pick(countries, city_of)),
        "timezone": pc.if_else(nulls(0.02), pa.nulls(n, pa.string()), pick(TIMEZONES, city_tz[city_of])),
        "income_band": pc.if_else(nulls(0.55), pa.nulls(n, pa.string()), pick(vocab.INCOME_BANDS, income[person])),
        "password_hash": pc.if_else(pa.array(kind == 3), pa.nulls(n, pa.string()), hashes),
        "is_guest": kind == 3,
        "created_at": ts(created),
        "updated_at": ts(updated),
    })

    # ---- devices -----------------------------------------------------------------------
    n_dev = rng.choice([1, 2, 3], size=P, p=[0.6, 0.3, 0.1])
    dev_person = np.repeat(np.arange(P), n_dev)
    dev_start_p = np.cumsum(n_dev) - n_dev
    nd = len(dev_person)
    first_of_person = np.zeros(nd, bool)
    first_of_person[dev_start_p] = True
    pc_ = p_created[dev_person]
    dev_seen = np.where(
        first_of_person,
        pc_ - (rng.random(nd) * 60 * DAY).astype(np.int64),
        pc_ + (rng.random(nd) * np.maximum(end - pc_, 1)).astype(np.int64),
    )
    ua = rng.choice(len(UA_P), size=nd, p=UA_P)
    device_id = hex_tokens(rng, nd, 8, "dev_")
    devices = pa.table({
        "device_id": device_id,
        "device_type": pick(UA_TYPE, ua),
        "os": pick(UA_OS, ua),
        "browser": pick(UA_BROWSER, ua),
        "first_seen_at": ts(dev_seen),
    })
    anon_main = hex_tokens(rng, nd, 8, "anon_")
    extra = np.flatnonzero(rng.random(nd) < 0.3)
    anon_extra = hex_tokens(rng, len(extra), 8, "anon_")
    anonymous_ids = pa.table({
        "anonymous_id": pa.concat_arrays([anon_main, anon_extra]),
        "device_id": pa.concat_arrays([device_id, device_id.take(pa.array(extra, pa.int64()))]),
        "first_seen_at": ts(np.concatenate([dev_seen, dev_seen[extra] + (rng.random(len(extra)) * np.maximum(end - dev_seen[extra], 1)).astype(np.int64)])),
    })
    cd_rec = np.repeat(np.arange(n), n_dev[person])
    within = np.arange(len(cd_rec)) - (np.cumsum(n_dev[person]) - n_dev[person])[cd_rec]
    cd_dev = dev_start_p[person][cd_rec] + within
    # household partners also use the host's first device
    primary_rec = np.empty(P, np.int64)
    primary_rec[person[kind == 0]] = np.flatnonzero(kind == 0)
    cd_rec = np.concatenate([cd_rec, primary_rec[partner]])
    cd_dev = np.concatenate([cd_dev, dev_start_p[host]])
    cd_first = np.maximum(created[cd_rec], dev_seen[cd_dev])
    cd_last = cd_first + (rng.random(len(cd_rec)) * np.maximum(end - cd_first, 1)).astype(np.int64)
    customer_devices = pa.table({
        "customer_id": customer_id[cd_rec],
        "device_id": device_id.take(pa.array(cd_dev)),
        "first_seen_at": ts(cd_first),
        "last_seen_at": ts(cd_last),
    })

    # ---- consents (at signup, some withdrawn later) --------------------------------------
    guest = kind == 3
    src = np.where(guest, 1, 0)
    granted_p = (0.74, 0.82, 0.68, 0.45)
    parts: list[Consents] = []
    statuses = []
    for purpose, p in enumerate(granted_p):
        asked = np.ones(n, bool) if purpose < 3 else rng.random(n) < 0.5
        status = np.where(rng.random(n) < p, 0, 1)
        statuses.append(np.where(asked, status, 1))
        rows = np.flatnonzero(asked)
        parts.append(Consents(customer_id[rows], np.full(len(rows), purpose), status[rows], src[rows], created[rows]))
    later = created + (rng.random(n) * np.maximum(end - created, 1)).astype(np.int64)
    mail_until = np.full(n, NEVER)
    for purpose, p in ((0, 0.05), (2, 0.03)):
        rows = np.flatnonzero((statuses[purpose] == 0) & (rng.random(n) < p))
        parts.append(Consents(customer_id[rows], np.full(len(rows), purpose), np.full(len(rows), 2), np.full(len(rows), 2), later[rows]))
        if purpose == 0:
            mail_until[rows] = later[rows]
    mail_from = np.where(statuses[0] == 0, created, NEVER)

    # ---- interests (progressive profiling, a subset) --------------------------------------
    who = np.flatnonzero(rng.random(n) < 0.3)
    k = rng.integers(1, 4, len(who))
    i_rec = np.repeat(who, k)
    j = np.arange(len(i_rec)) - (np.cumsum(k) - k)[np.repeat(np.arange(len(who)), k)]
    first_interest = rng.integers(0, len(vocab.INTERESTS), len(who))
    interest = (np.repeat(first_interest, k) + j) % len(vocab.INTERESTS)
    i_src = np.repeat(rng.choice(3, size=len(who), p=[0.5, 0.3, 0.2]), k)
    i_at = np.where(i_src == 0, created[i_rec], later[i_rec])
    interests = pa.table({
        "customer_id": customer_id[i_rec],
        "interest": pick(vocab.INTERESTS, interest),
        "source": pick(INTEREST_SOURCES, i_src),
        "recorded_at": ts(i_at),
    })

    person_key = first_person_key + person
    tables = {
        "customers": customers,
        "devices": devices,
        "anonymous_ids": anonymous_ids,
        "customer_devices": customer_devices,
        "interests": interests,
        "truth.customer_persons": pa.table({"customer_id": customer_id, "person_key": person_key}),
        "truth.persons": pa.table({
            "person_key": np.arange(first_person_key, first_person_key + P, dtype=np.int64),
            "purchase_propensity": rate * 30,
            "engagement": engagement,
        }),
    }
    people = People(
        customer_id=customer_id,
        person_key=person_key,
        tz=city_tz[city_of],
        created_at=created,
        rate=rec_rate,
        engagement=engagement[person],
        email=rec_email,
        email_ok=email_ok,
        fav_leaf=fav_leaf[person],
        mail_from=mail_from,
        mail_until=mail_until,
        dev_start=first_device_row + dev_start_p[person],
        dev_count=n_dev[person],
    )
    devs = Devices(device_id=device_id, anonymous_id=anon_main, user_agent=pick(UA_TEXT, ua))
    return people, devs, tables, Consents.concat(parts)
