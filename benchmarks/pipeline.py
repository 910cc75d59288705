"""The whole transform, full refresh against incremental, on the same data.

Runs in two throw-away databases on the same server
(``tailor_bench_pipeline_shop`` / ``_warehouse``, own replication slot), so
the real shop and warehouse are never touched:

1. seed ``size`` customers (default 20,000) with the standard generator
   (seed 42 unless ``TAILOR_BENCH_SEED``) and land them with the real CDC
   capture;
2. build everything the transform DAG builds, in its order (dbt staging,
   with the Splink matcher alongside from the moment the one model it
   reads, ``stg_shop__customers``, is built; then dbt for the rest, where
   only the models reading the matcher's links wait for it), as of the
   shop's latest timestamp: ``initial_s``;
3. change 1% of the customers in the shop (``tailor.source.changes``: new
   orders, web and email events, consent withdrawals, email/city/name
   edits, cart deletes) and capture them;
4. the same transform again, incrementally: ``incremental_s``; then
   checksums (md5 over the sorted row texts) of every relation in
   staging, intermediate and marts;
5. the same transform with ``--full-refresh``, same data and as_of:
   ``full_s``; checksums again. ``identical`` is true when every relation
   matches. The person map (``int_person_map``, and its history) is never
   fully refreshed, by design (stable ids), so both builds see the same map;
   ``int_persons_changed`` (which run last saw each person change) is
   bookkeeping of the incremental history and is not compared.

``incremental_vs_full`` is the ratio the acceptance target is about
(incremental_s / full_s). Each timed pass starts on vacuumed databases,
with the objects made before it frozen out of the cyclic GC's sight, as a
scheduled DAG task does (:func:`_settled`). The matcher's own time in each is
reported separately (``matcher_s_*``, spent alongside staging and the
rest's first models) with what its readers waited for it
(``matcher_wait_s_*``), as are the rows per relation (``rows``), each
pass's slowest dbt nodes (``slowest_nodes_*``, seconds) and the
incremental rest step's critical path as it ran (``rest_chain_incremental``:
the nodes its end waited on, in order; ``rest_chain_s_incremental`` their
sum): what shortens the step is what shortens that chain.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, NamedTuple

BENCH_SLOT = "tailor_bench_pipeline"
CHECKED_SCHEMAS = ("staging", "intermediate", "marts")
# Columns holding wall-clock time, not data: left out of the checksums.
WALL_CLOCK_COLUMNS = {"staging.stg_ml__identity_links": ("computed_at",)}
# Bookkeeping, not data: which run last saw each person change (change-log
# positions), so an incremental history and a rebuild differ by design.
BOOKKEEPING = {"intermediate.int_persons_changed"}
# How many of each pass's slowest dbt nodes the result lists.
SLOWEST_SHOWN = 12


class TransformTiming(NamedTuple):
    """One pass of the transform DAG's three steps (a NamedTuple: bench loads this file without a module)."""

    total_s: float
    staging_s: float
    matcher_s: float       # the matcher's own run, alongside staging
    matcher_wait_s: float  # how long its readers in the rest waited for it
    rest_s: float          # the rest's own step, from staging's end (any such wait included)
    slowest: list[tuple[str, float]]
    chain: list[tuple[str, float]]


class _MatcherAlongside:
    """The matcher in a thread of its own, started when its input model is built.

    What the transform DAG's task dependency does (the matcher's task after
    ``stg_shop__customers``'s, not after all of staging), for one in-process
    dbt invocation (``tailor.identity.matcher.INPUT_MODEL``):
    ``node_finished`` is run_dbt's ``on_node_finished``.
    """

    def __init__(self, run: Callable[[], Any]) -> None:
        self._run = run
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self._result: Any = None
        self._error: BaseException | None = None

    def node_finished(self, unique_id: str, status: str) -> None:
        from tailor.identity.matcher import INPUT_MODEL

        if unique_id == INPUT_MODEL and status == "success":
            self._start()

    def _start(self) -> threading.Thread:
        """The matcher's thread, started on the first call: it runs once however many ask."""
        with self._started:
            if self._thread is None:
                self._thread = threading.Thread(target=self._target, name="identity-matcher", daemon=True)
                self._thread.start()
            return self._thread

    def _target(self) -> None:
        try:
            self._result = self._run()
        except BaseException as exc:  # re-raised in result(), in the caller's thread
            self._error = exc

    def result(self, *, run_if_not_started: bool = True) -> Any:
        """The matcher's result once it is done, from any thread (its readers' and the caller's);
        started here if its input was not built in this invocation."""
        with self._started:
            thread = self._thread
        if thread is None and run_if_not_started:
            thread = self._start()
        if thread is not None:
            thread.join()
        if self._error is not None:
            raise self._error
        return self._result


@contextlib.contextmanager
def _settled(settings) -> Iterator[None]:
    """A pass timed on a settled database and heap, as a scheduled run starts.

    Both scratch databases are vacuumed and analysed first: the seeding, the
    initial build and the capture before the incremental pass leave
    millions of new rows, and autovacuum working them off took 1.8 s of CPU
    inside one 9.6 s incremental pass on two cores (the full pass after it
    inherits the incremental pass's and the checksums' share). A transform
    scheduled every few minutes starts on tables autovacuum has caught up
    with; so does each pass here, with nothing left for autovacuum to do.

    The objects made before the pass (imports, earlier passes' leftovers)
    are then frozen out of the cyclic GC's sight. A DAG task starts in a
    process forked from a frozen heap (Airflow's LocalExecutor calls
    ``gc.freeze()`` before forking its workers): its collections scan little
    more than what the task itself makes. The benchmark's passes run one
    after another in one process, so each pass's full collections would
    also scan the ~300k objects left by the imports and the passes before
    it (the initial build's matcher training among them), about 0.2 s
    each, landing in a pass at random: staging's 1.5 s took 1.5-2.4 s in
    replays. Collected first, so nothing garbage is frozen; unfrozen after
    the pass. Neither step is timed.
    """
    from tailor.db.connect import connect

    for database in ("shop", "warehouse"):
        with connect(database, settings, autocommit=True) as conn:
            conn.execute("vacuum (analyze)")
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def transform(settings, as_of: str, *, full_refresh: bool, progress: Callable[[str], None]) -> TransformTiming:
    """What the transform DAG does: dbt staging with the matcher alongside, then dbt for the rest.

    The rest starts when staging ends; only the models reading the
    matcher's links (``tailor.identity.matcher.OUTPUT_MODEL``) wait for it,
    as their tasks do in the DAG. Timed from vacuumed databases and a frozen
    heap (:func:`_settled`; neither step is timed).
    """
    with _settled(settings):
        return _transform(settings, as_of, full_refresh=full_refresh, progress=progress)


def _transform(settings, as_of: str, *, full_refresh: bool, progress: Callable[[str], None]) -> TransformTiming:
    from tailor.identity.matcher import OUTPUT_MODEL, run_matcher
    from tailor.transform.dbt import blocking_chain, run_dbt

    refresh = ["--full-refresh"] if full_refresh else []
    dbt_vars = {"as_of": as_of}
    matcher = _MatcherAlongside(lambda: run_matcher(settings, full=full_refresh))
    started = time.monotonic()
    staging = run_dbt(["build", "--select", "staging", "--indirect-selection", "buildable", "--quiet", *refresh],
                      vars=dbt_vars, settings=settings, artifacts=False, on_node_finished=matcher.node_finished)
    staging_s = time.monotonic() - started
    if not staging.success:
        with contextlib.suppress(Exception):  # staging's failure is the one to report
            matcher.result(run_if_not_started=False)
        raise RuntimeError(staging.summary())
    waits: list[float] = []

    def matcher_read(unique_id: str, depends_on: tuple[str, ...]) -> None:
        if OUTPUT_MODEL in depends_on:
            waiting = time.monotonic()
            matcher.result()  # the matcher's error, if any, fails this reader
            waits.append(time.monotonic() - waiting)

    rest = run_dbt(["build", "--exclude", "staging", "--indirect-selection", "buildable", "--quiet", *refresh],
                   vars=dbt_vars, settings=settings, artifacts=False, before_node=matcher_read)
    match = matcher.result()  # raises the matcher's error before the readers' failures it caused
    progress(f"  {match.summary()}")
    if not rest.success:
        raise RuntimeError(rest.summary())
    total_s = time.monotonic() - started
    nodes = sorted(staging.nodes + rest.nodes, key=lambda node: node.seconds, reverse=True)
    slowest = [node.timed() for node in nodes[:SLOWEST_SHOWN]]
    return TransformTiming(total_s, staging_s, match.seconds, sum(waits), total_s - staging_s,
                           slowest, blocking_chain(rest.nodes))


def checksums(settings) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted row texts) of every relation dbt built."""
    from tailor.db.connect import connect

    found: dict[str, tuple[int, str]] = {}
    with connect("warehouse", settings) as conn:
        relations = conn.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) and table_name not like '%%\\_\\_state'
            order by 1, 2
            """,
            (list(CHECKED_SCHEMAS),),
        ).fetchall()
        for schema, name in relations:
            if f"{schema}.{name}" in BOOKKEEPING:
                continue
            skipped = WALL_CLOCK_COLUMNS.get(f"{schema}.{name}", ())
            columns = [column for (column,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position", (schema, name)).fetchall()
                if column not in skipped]
            row = "row(" + ", ".join(f't."{column}"' for column in columns) + ")::text"
            rows, digest = conn.execute(
                f'select count(*), md5(coalesce(string_agg(row_md5, \'\' order by row_md5), \'\')) '
                f'from (select md5({row}) as row_md5 from "{schema}"."{name}" as t) as rows'
            ).fetchone()
            found[f"{schema}.{name}"] = (rows, digest)
    return found


def _capture_all(settings, timeout_s: float = 1800) -> int:
    """One bounded capture run (until caught up with the shop's WAL at its start); the changes landed.

    On the embedded server the slot first decodes the warehouse's own WAL of
    the build before it (same cluster), gigabytes at 100k customers; the
    capture's stop rule waits for the walsender to pass the start position,
    so the run lands the shop's changes however long that takes.
    """
    from tailor.cdc.capture import run_capture

    result = run_capture(settings, max_seconds=timeout_s, overrides={"slot.name": BENCH_SLOT})
    if result.status != "succeeded":
        raise RuntimeError(f"capture failed: {result.error}")
    return result.events_landed


def _latest_source_ts(settings) -> str:
    from tailor.db.connect import connect

    with connect("warehouse", settings) as conn:
        (latest,) = conn.execute("select max(source_ts) from raw.cdc_events").fetchone()
    return (latest + timedelta(seconds=1)).isoformat()


def run(size: int | None, progress: Callable[[str], None]) -> dict[str, Any]:
    from tailor.bench import bench_seed, scratch_databases, seed_and_capture
    from tailor.source.changes import apply_changes

    customers = size or 20_000
    seed_value = bench_seed()
    with scratch_databases("pipeline", progress, slots=(BENCH_SLOT,)) as settings:
        landed = seed_and_capture(settings, customers, seed_value, BENCH_SLOT, progress)

        as_of = _latest_source_ts(settings)
        progress(f"initial build as of {as_of}")
        initial = transform(settings, as_of, full_refresh=False, progress=progress)
        progress(f"  {initial.total_s:.1f}s")

        changes = apply_changes(settings, share=0.01, seed=seed_value)
        progress(changes.describe())
        changed = _capture_all(settings)
        if not changed:
            raise RuntimeError("the changes to the shop landed nothing in raw: the comparison would prove nothing")
        as_of = _latest_source_ts(settings)

        progress(f"incremental build as of {as_of} ({changed:,} changes landed)")
        incremental = transform(settings, as_of, full_refresh=False, progress=progress)
        progress(f"  {incremental.total_s:.1f}s; checksumming")
        after_incremental = checksums(settings)

        progress(f"full refresh as of {as_of}")
        full = transform(settings, as_of, full_refresh=True, progress=progress)
        progress(f"  {full.total_s:.1f}s; checksumming")
        after_full = checksums(settings)

        differing = sorted(name for name in after_full | after_incremental
                           if after_full.get(name) != after_incremental.get(name))
        return {
            "customers": customers,
            "changed_customers": changes.customers,
            "changes_landed": changed,
            "events_landed": landed,
            "full_s": round(full.total_s, 2),
            "incremental_s": round(incremental.total_s, 2),
            "incremental_vs_full": round(incremental.total_s / full.total_s, 3),
            "identical": not differing,
            "differing": differing,
            "relations_compared": len(after_full),
            "initial_s": round(initial.total_s, 2),
            "matcher_s_full": round(full.matcher_s, 2),
            "matcher_s_incremental": round(incremental.matcher_s, 2),
            "matcher_wait_s_full": round(full.matcher_wait_s, 2),
            "matcher_wait_s_incremental": round(incremental.matcher_wait_s, 2),
            "staging_s_full": round(full.staging_s, 2),
            "staging_s_incremental": round(incremental.staging_s, 2),
            "rest_s_full": round(full.rest_s, 2),
            "rest_s_incremental": round(incremental.rest_s, 2),
            "slowest_nodes_full": dict(full.slowest),
            "slowest_nodes_incremental": dict(incremental.slowest),
            "rest_chain_s_incremental": round(sum(seconds for _, seconds in incremental.chain), 2),
            "rest_chain_incremental": incremental.chain,
            "rows": {name: rows for name, (rows, _) in after_full.items()},
            "changes": changes.rows,
            "seed": seed_value,
        }
