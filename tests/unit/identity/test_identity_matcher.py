"""The Splink matcher on hand-built records (in-process DuckDB, no services).

A background population gives the model realistic u values (how often
strangers agree); the cases under test are planted in it.
"""

from __future__ import annotations

import random

import pytest

from tailor.identity.matcher import MatcherConfig, model_version, score, train
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
    trained = train(rows, MatcherConfig())
    scored = score(rows, trained, MatcherConfig())
    assert scored.candidate_pairs > 0 and trained.version.startswith("splink-")
    return {(left, right): probability for left, right, probability, _ in scored.links}


def test_links_a_duplicate_account_with_another_email(scored):
    assert scored[(1, 2)] >= THRESHOLD


def test_does_not_link_two_people_sharing_a_common_name(scored):
    assert scored.get((3, 4), 0.0) < 0.5


def test_only_stores_links_above_the_floor(scored):
    assert all(p >= MatcherConfig().store_floor for p in scored.values())


@pytest.fixture(scope="module")
def trained_background():
    rows = background(3000, seed=11)
    rows += [(1, "johanna", "keller", "1984-03-02", "hamburg", "20095", None, "jo.keller"),
             (2, "johanna", "keller", "1984-03-02", "hamburg", None, None, "hanna_k")]
    return rows, train(rows, MatcherConfig())


def test_the_model_carries_term_frequencies_of_every_tf_column(trained_background):
    _, trained = trained_background
    assert set(trained.term_frequencies) == {"first_name", "last_name", "city"}
    assert all(0 < tf <= 1 for values in trained.term_frequencies.values() for _, tf in values)
    assert trained.version == model_version(trained.model, trained.term_frequencies)


def test_incremental_scoring_gives_exactly_the_full_runs_pairs_with_a_changed_side(trained_background):
    rows, trained = trained_background
    config = MatcherConfig(store_floor=0.0)  # every candidate pair, not just the likely ones
    full = score(rows, trained, config)
    changed = set(random.Random(3).sample([row[0] for row in rows], 150)) | {1}
    incremental = score(rows, trained, config, changed)
    expected = [link for link in full.links if link[0] in changed or link[1] in changed]
    assert expected and incremental.links == expected
    assert incremental.candidate_pairs == len(expected) < full.candidate_pairs


def test_scores_do_not_depend_on_how_common_a_value_is_today(trained_background):
    rows, trained = trained_background
    # a wave of new Johannas: retrained, the name would be worth less; scored with the stored model, not
    johannas = [(50_000 + i, "johanna", f"x{i}", None, "bonn", None, None, None) for i in range(400)]
    before = {link[:2]: link[2:] for link in score(rows, trained, MatcherConfig()).links}
    after = {link[:2]: link[2:] for link in score(rows + johannas, trained, MatcherConfig()).links}
    assert after[(1, 2)] == before[(1, 2)]
    retrained = train(rows + johannas, MatcherConfig())
    assert retrained.version != trained.version
    assert dict(retrained.term_frequencies["first_name"])["johanna"] > dict(trained.term_frequencies["first_name"])["johanna"]


def test_model_version_is_a_content_hash(trained_background):
    _, trained = trained_background
    frequencies = trained.term_frequencies
    assert model_version({**trained.model, "linker_uid": "other"}, frequencies) == trained.version
    fewer = {**frequencies, "city": frequencies["city"][1:]}
    assert model_version(trained.model, fewer) != trained.version
