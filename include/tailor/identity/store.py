"""The matcher's warehouse tables: model versions, scored records, links and runs.

Every write is one transaction, so a failed run leaves the previous links,
records and run history as they were. Scoring runs hold an advisory lock
(:func:`scoring_lock`): the weekly retraining's full rescoring and a
transform run's incremental one never interleave, which would leave links
from two models or miss a change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tailor.config import Settings
from tailor.db.connect import connect

if TYPE_CHECKING:
    from tailor.identity.matcher import MatcherConfig, MatchResult, TrainedModel

# pg_advisory_lock key of the matcher's scoring runs (any fixed bigint; "tailor-id").
SCORING_LOCK = 0x7461696C6F722D69


@dataclass(frozen=True)
class LastRun:
    """What the newest scoring run scored with: incremental runs must score the same way."""

    model_version: str
    store_floor: float | None


def save_model(trained: TrainedModel, settings: Settings | None = None) -> None:
    """Store a trained model as the newest version (the same version again: only trained_at moves)."""
    with connect("warehouse", settings) as conn:
        inserted = conn.execute(
            "insert into ml.identity_models (model_version, model, records, trained_at, training_seconds) "
            "values (%s, %s, %s, %s, %s) on conflict (model_version) do update "
            "set trained_at = excluded.trained_at, records = excluded.records, "
            "training_seconds = excluded.training_seconds returning (xmax = 0)",
            (trained.version, json.dumps(trained.model), trained.records, trained.trained_at, trained.seconds),
        ).fetchone()[0]
        if inserted:
            with conn.cursor().copy("copy ml.identity_model_term_frequencies "
                                    "(model_version, column_name, value, tf) from stdin") as copy:
                for column, frequencies in trained.term_frequencies.items():
                    for value, tf in frequencies:
                        copy.write_row((trained.version, column, value, tf))


def newest_model(settings: Settings | None = None) -> TrainedModel | None:
    """The most recently trained model, or None on a warehouse that never trained one."""
    from tailor.identity.matcher import TrainedModel

    with connect("warehouse", settings) as conn:
        row = conn.execute(
            "select model_version, model, records, trained_at, training_seconds from ml.identity_models "
            "order by trained_at desc, model_version limit 1").fetchone()
        if row is None:
            return None
        version, model, records, trained_at, seconds = row
        frequencies: dict[str, list[tuple[str, float]]] = {}
        for column, value, tf in conn.execute(
                "select column_name, value, tf from ml.identity_model_term_frequencies "
                "where model_version = %s order by column_name, value", (version,)):
            frequencies.setdefault(column, []).append((value, tf))
    return TrainedModel(model=model, term_frequencies=frequencies, version=version, records=records,
                        trained_at=trained_at, seconds=seconds)


def scored_records(settings: Settings | None = None) -> dict[int, str]:
    """unique_id -> record_md5 of the records as last scored."""
    with connect("warehouse", settings) as conn:
        return dict(conn.execute("select unique_id, record_md5 from ml.identity_match_records").fetchall())


def last_run(settings: Settings | None = None) -> LastRun | None:
    with connect("warehouse", settings) as conn:
        row = conn.execute("select model_version, store_floor from ml.identity_match_runs "
                           "order by computed_at desc limit 1").fetchone()
    return LastRun(*row) if row else None


@contextmanager
def scoring_lock(settings: Settings | None = None) -> Iterator[None]:
    """Hold the matcher's advisory lock (waits for a run in progress to finish)."""
    with connect("warehouse", settings, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (SCORING_LOCK,))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (SCORING_LOCK,))


def _copy_links(conn, links: list[tuple], result: MatchResult) -> None:
    with conn.cursor().copy(
        "copy ml.identity_links (customer_id_l, customer_id_r, match_probability, match_weight, "
        "model_version, computed_at) from stdin"
    ) as copy:
        for left, right, probability, weight in links:
            copy.write_row((left, right, min(max(probability, 0.0), 1.0), weight,
                            result.model_version, result.computed_at))


def _copy_records(conn, table: str, records: list[tuple[int, str]], result: MatchResult) -> None:
    with conn.cursor().copy(f"copy {table} (unique_id, record_md5, model_version, scored_at) from stdin") as copy:
        for unique_id, md5 in records:
            copy.write_row((unique_id, md5, result.model_version, result.computed_at))


def _record_run(conn, result: MatchResult, config: MatcherConfig, started: float) -> None:
    (result.links_total,) = conn.execute("select count(*) from ml.identity_links").fetchone()
    result.seconds = time.monotonic() - started
    conn.execute(
        "insert into ml.identity_match_runs (model_version, computed_at, records, candidate_pairs, links, "
        "seconds, mode, reason, changed_records, removed_records, links_total, store_floor) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (result.model_version, result.computed_at, result.records, result.candidate_pairs, result.links,
         result.seconds, result.mode, result.reason or None, result.changed_records, result.removed_records,
         result.links_total, config.store_floor),
    )


def replace_all(links: list[tuple], records: list[tuple[int, str]], result: MatchResult,
                config: MatcherConfig, started: float, settings: Settings | None = None) -> None:
    """A full run: every link and every scored record replaced, in one transaction."""
    with connect("warehouse", settings) as conn:
        conn.execute("delete from ml.identity_links")  # not truncate: dbt may be reading it
        _copy_links(conn, links, result)
        conn.execute("delete from ml.identity_match_records")
        _copy_records(conn, "ml.identity_match_records", records, result)
        _record_run(conn, result, config, started)


def apply_changes(links: list[tuple], records: list[tuple[int, str]], removed: list[int],
                  result: MatchResult, config: MatcherConfig, started: float,
                  settings: Settings | None = None) -> None:
    """An incremental run, in one transaction: links touching changed or removed records replaced.

    ``links`` are all pairs with a changed side at or above the floor, so
    after the delete none of them is left and a plain insert is right (a
    conflict would mean a bug, and rolls everything back).
    """
    with connect("warehouse", settings) as conn:
        conn.execute("create temporary table touched (unique_id bigint primary key) on commit drop")
        with conn.cursor().copy("copy touched (unique_id) from stdin") as copy:
            for unique_id in [*(uid for uid, _ in records), *removed]:
                copy.write_row((unique_id,))
        conn.execute("analyze touched")
        conn.execute("delete from ml.identity_links as l using touched as t where l.customer_id_l = t.unique_id")
        conn.execute("delete from ml.identity_links as l using touched as t where l.customer_id_r = t.unique_id")
        _copy_links(conn, links, result)
        conn.execute("delete from ml.identity_match_records as m using touched as t where m.unique_id = t.unique_id")
        _copy_records(conn, "ml.identity_match_records", records, result)
        _record_run(conn, result, config, started)
