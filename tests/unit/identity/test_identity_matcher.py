"""The Splink matcher on hand-built records (in-process DuckDB, no services).

A background population gives the model realistic u values (how often
strangers agree); the cases under test are planted in it.
"""

from __future__ import annotations

import random

import pytest

from tailor.identity.matcher import MatcherConfig, model_version, train_and_predict
from tailor.source import vocab

THRESHOLD = 0.99  # dbt_project.yml identity_match_threshold


def background(n: int = 4000, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    firsts = [vocab.ascii_fold(x).lower() for x in (*vocab.FEMALE_FIRST, *vocab.MALE_FIRST)]
    lasts = [vocab.ascii_fold(x).lower() for x in vocab.LAST_NAMES]
    cities = [c[0].lower() for c in vocab.CITIES]
    rows = []
    for i in range(n):
        first, last = rng.choice(firsts), rng.choice(lasts)
        birth = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append((10_000 + i, first, last, birth if rng.random() > 0.25 else None, rng.choice(cities),
                     f"{rng.randint(10000, 99999)}", f"49{rng.randint(10**8, 10**9 - 1)}" if rng.random() < 0.6
                     else None, f"{first}.{last}{rng.randint(1, 999)}"))
    return rows


@pytest.fixture(scope="module")
def scored() -> dict[tuple[int, int], float]:
    rows = background()
    # a second account of one person: same name, birth date and city, another email, no phone
    rows += [(1, "johanna", "keller", "1984-03-02", "hamburg", "20095", None, "jo.keller"),
             (2, "johanna", "keller", "1984-03-02", "hamburg", None, None, "hanna_k")]
    # two different people sharing a very common name and city (the name is common in the data)
    rows += [(100 + i, "maria", "garcia", f"19{50 + i}-0{1 + i % 9}-1{i % 9}", "madrid", f"2800{i % 10}",
              None, f"mg{i}x") for i in range(40)]
    rows += [(3, "maria", "garcia", "1971-05-20", "madrid", "28001", None, "maria.garcia"),
             (4, "maria", "garcia", "1990-11-02", "madrid", "28013", "34911112222", "mgarcia")]
    links, candidates, model = train_and_predict(rows, MatcherConfig())
    assert candidates > 0 and model_version(model).startswith("splink-")
    return {(left, right): probability for left, right, probability, _ in links}


def test_links_a_duplicate_account_with_another_email(scored):
    assert scored[(1, 2)] >= THRESHOLD


def test_does_not_link_two_people_sharing_a_common_name(scored):
    assert scored.get((3, 4), 0.0) < 0.5


def test_only_stores_links_above_the_floor(scored):
    assert all(p >= MatcherConfig().store_floor for p in scored.values())
