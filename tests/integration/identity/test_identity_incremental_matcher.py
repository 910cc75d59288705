"""Incremental scoring stores exactly the links a full rescoring with the same model stores.

A few hundred hand-built customers (a few dozen people with a second
account under another email) go through the real staging view and the
matcher; then records are edited (name, email, city), one is added and one
deleted, and an incremental run is compared with a full one, row for row
(``computed_at`` aside: it is the wall-clock time of the run).
"""

from __future__ import annotations

import random

import pytest
from fixtures.identity_history import ChangeLog, customer

from tailor.identity.matcher import MatcherConfig, run_matcher, train_model
from tailor.source import vocab
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

PEOPLE = 300
TWINS = 40  # people 0..TWINS-1 also have a second account: customer_id + 5000


def person(n: int, rng: random.Random) -> dict:
    first = rng.choice([vocab.ascii_fold(x) for x in (*vocab.FEMALE_FIRST, *vocab.MALE_FIRST)])
    last = rng.choice([vocab.ascii_fold(x) for x in vocab.LAST_NAMES])
    return customer(
        10_000 + n, f"{first}.{last}{n}@example.org".lower(), first, last,
        birth_date=f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        city=rng.choice(vocab.CITIES)[0], postcode=f"{rng.randint(10000, 99999)}",
        phone=f"+49 30 {rng.randint(10**6, 10**7 - 1)}" if rng.random() < 0.5 else None,
    )


def second_account(row: dict) -> dict:
    return {**row, "customer_id": row["customer_id"] + 5000, "phone": None,
            "email": f"shop{row['customer_id']}@example.net"}


def populate(log: ChangeLog) -> dict[int, dict]:
    rng = random.Random(5)
    rows = {}
    for n in range(PEOPLE):
        row = person(n, rng)
        rows[row["customer_id"]] = row
        if n < TWINS:
            twin = second_account(row)
            rows[twin["customer_id"]] = twin
    for row in rows.values():
        log.upsert_customer(row)
    result = run_dbt(["run", "--select", "stg_shop__customers"], settings=log.settings)
    assert result.success, result.summary()
    return rows


def links(log: ChangeLog) -> set[tuple]:
    return set(log.query("select customer_id_l, customer_id_r, match_probability, match_weight, model_version "
                         "from ml.identity_links"))


def test_incremental_scoring_equals_a_full_rescoring(log: ChangeLog):
    rows = populate(log)
    assert len(rows) == PEOPLE + TWINS
    trained = train_model(log.settings, MatcherConfig.from_project(log.settings))
    first = run_matcher(log.settings)
    assert (first.mode, first.model_version, first.trained) == ("full", trained.version, None)
    before = links(log)
    linked = {(left, right) for left, right, *_ in before}
    assert {(10_000 + n, 15_000 + n) for n in range(5)} <= linked, "the twins are linked"

    # name edit: the twin's link must go; email and city edits; a new account; a deleted one
    log.upsert_customer({**rows[10_000], "first_name": "Zebulon", "updated_at": "2024-06-20T00:00:00Z"})
    log.upsert_customer({**rows[10_001], "email": "new.address@example.com"})
    log.upsert_customer({**rows[10_002], "city": "Elsewhere"})
    log.upsert_customer(second_account(rows[10_100]))
    log.delete_customer(15_003)

    incremental = run_matcher(log.settings)
    assert (incremental.mode, incremental.changed_records, incremental.removed_records) == ("incremental", 4, 1)
    assert 0 < incremental.candidate_pairs < first.candidate_pairs
    after_incremental = links(log)
    full = run_matcher(log.settings, full=True)
    assert full.mode == "full" and full.model_version == incremental.model_version == trained.version
    after_full = links(log)

    assert after_incremental == after_full
    changed_pairs = {(left, right) for left, right, *_ in before ^ after_full}
    assert (10_000, 15_000) in changed_pairs and (10_003, 15_003) in changed_pairs
    assert (10_100, 15_100) in {(left, right) for left, right, *_ in after_full}
    assert log.query("select count(*) from ml.identity_models") == [(1,)], "scoring never trains"
    assert log.query("select mode, changed_records, removed_records from ml.identity_match_runs "
                     "order by computed_at") == [("full", first.records, 0), ("incremental", 4, 1),
                                                 ("full", first.records, 0)]


def test_bootstrap_then_nothing_changed_then_a_newer_model(log: ChangeLog):
    populate(log)
    bootstrap = run_matcher(log.settings)
    assert bootstrap.mode == "full" and bootstrap.trained is not None
    assert bootstrap.model_version == bootstrap.trained.version
    stored = links(log)

    again = run_matcher(log.settings)
    assert (again.mode, again.changed_records, again.candidate_pairs, again.links) == ("incremental", 0, 0, 0)
    assert links(log) == stored

    newer = train_model(log.settings, MatcherConfig.from_project(log.settings, duplicate_share=0.1))
    assert newer.version != bootstrap.model_version
    rescored = run_matcher(log.settings)
    assert rescored.mode == "full" and "newest model" in rescored.reason
    assert {version for *_, version in links(log)} == {newer.version}
