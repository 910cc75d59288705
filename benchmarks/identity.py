"""Identity resolution quality against the generator's ground truth.

Runs in two throw-away databases on the same server
(``tailor_bench_identity_shop`` / ``_warehouse``, own replication slot), so
the real shop and warehouse are never touched:

1. seed ``size`` customers (default 20,000) with the standard generator
   (``tailor.source.generate.seed``, seed 42 unless ``TAILOR_BENCH_SEED``);
2. land them in raw with the real CDC capture;
3. build staging, train the Splink model on this data and score every
   pair with it (``tailor identity train``, then ``resolve --full``), build
   the identity models (the same order as the transform DAG);
4. score pairwise over customer records against ``truth.customer_persons``
   (read here only; no model and not the matcher ever reads it):
   ``precision``/``recall``/``f1`` for the person map, and
   ``deterministic_only_*`` for the components of the same run's
   deterministic edges alone, the baseline the matcher must beat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BENCH_SLOT = "tailor_bench_identity"


def run(size: int | None, progress: Callable[[str], None]) -> dict:
    import splink

    from tailor.bench import bench_seed, scratch_databases, seed_and_capture
    from tailor.db.connect import connect
    from tailor.identity.matcher import run_matcher, train_model
    from tailor.identity.scoring import components, pairwise_score
    from tailor.transform.dbt import run_dbt

    customers = size or 20_000
    seed_value = bench_seed()
    with scratch_databases("identity", progress, slots=(BENCH_SLOT,)) as settings:
        seed_and_capture(settings, customers, seed_value, BENCH_SLOT, progress)

        started = time.monotonic()
        staging = run_dbt(["build", "--select", "staging", "--indirect-selection", "buildable", "--quiet"],
                          settings=settings)
        if not staging.success:
            raise RuntimeError(staging.summary())
        dbt_s = time.monotonic() - started
        trained = train_model(settings)
        progress(trained.summary())
        match = run_matcher(settings, full=True)
        progress(match.summary())
        started = time.monotonic()
        identity = run_dbt(["build", "--select", "+int_person_map", "--exclude", "staging",
                            "--indirect-selection", "buildable", "--quiet"], settings=settings)
        if not identity.success:
            raise RuntimeError(identity.summary())
        dbt_s += time.monotonic() - started

        with connect("shop", settings) as conn:
            truth = dict(conn.execute("select customer_id, person_key from truth.customer_persons").fetchall())
        with connect("warehouse", settings) as conn:
            person_map = dict(conn.execute(
                "select customer_id, person_id from intermediate.int_person_map").fetchall())
            deterministic = conn.execute(
                "select customer_id_l, customer_id_r from intermediate.int_identity_edges "
                "where edge_type <> 'probabilistic'").fetchall()
            (probabilistic_edges,) = conn.execute(
                "select count(*) from intermediate.int_identity_edges "
                "where edge_type = 'probabilistic'").fetchone()
        full = pairwise_score(person_map, truth)
        baseline = pairwise_score(components(truth, deterministic), truth)
        return {
            "customers": len(truth),
            "true_pairs": full.true_pairs,
            "precision": round(full.precision, 5),
            "recall": round(full.recall, 5),
            "f1": round(full.f1, 5),
            "deterministic_only_precision": round(baseline.precision, 5),
            "deterministic_only_recall": round(baseline.recall, 5),
            "deterministic_only_f1": round(baseline.f1, 5),
            "f1_above_deterministic": full.f1 > baseline.f1,
            "predicted_pairs": full.predicted_pairs,
            "deterministic_edges": len(deterministic),
            "probabilistic_edges": probabilistic_edges,
            "links_stored": match.links,
            "candidate_pairs": match.candidate_pairs,
            "matcher_s": round(trained.seconds + match.seconds, 2),
            "matcher_train_s": round(trained.seconds, 2),
            "matcher_score_s": round(match.seconds, 2),
            "dbt_s": round(dbt_s, 2),
            "model_version": match.model_version,
            "splink_version": splink.__version__,
            "seed": seed_value,
        }
