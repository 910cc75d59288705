"""tailor.transform.dbt.run_dbt called many times in one process (tests, `airflow dags test`, benchmarks)."""

from __future__ import annotations

import pytest

from tailor.config import Settings
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration


def test_repeated_calls_leave_dbt_adapters_default_flags_as_found(pg: Settings) -> None:
    """Each adapter dbt creates appends its flags to dbt-adapters' module-level default list;
    left there, every later call walks the call stack once per leaked flag (the suite's n-th
    dbt call paid n walks, seconds per call late in a session)."""
    from dbt.adapters.base import impl

    before = [dict(flag) for flag in impl.DEFAULT_BASE_BEHAVIOR_FLAGS]
    for _ in range(2):
        result = run_dbt(["parse"], settings=pg)
        assert result.success, result.summary()
    assert before == impl.DEFAULT_BASE_BEHAVIOR_FLAGS


PROBE_PROJECT = """\
name: connection_probe
version: "1.0"
config-version: 2
profile: tailor
models:
  connection_probe:
    +materialized: table
"""

# What the session looks like to a model: its backend, a session setting the
# model before it changed, and a temp table the model before it left behind.
PROBE_SQL = """\
select
    pg_backend_pid() as backend_pid,
    current_setting('statement_timeout') as statement_timeout,
    to_regclass('pg_temp.left_behind') is not null as sees_left_behind
"""


def test_nodes_share_a_thread_connection_reset_to_a_fresh_session(pg: Settings, tmp_path) -> None:
    """dbt-adapters closes the thread's connection after every node (a new backend, auth and
    cold catalog caches per node); run_dbt keeps it, reset with DISCARD ALL, so a node sees
    neither the previous node's settings nor its temp tables."""
    import shutil

    from tailor.db.connect import connect

    (tmp_path / "dbt_project.yml").write_text(PROBE_PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    models = tmp_path / "models"
    models.mkdir()
    # first: leaves a session setting and a temp table behind (a plain `set`
    # outlives the model's transaction)
    (models / "probe_first.sql").write_text(
        "{{ config(pre_hook=\"set statement_timeout = '123s'; create temp table left_behind (x int)\") }}\n"
        + PROBE_SQL
    )
    (models / "probe_second.sql").write_text("-- depends_on: {{ ref('probe_first') }}\n" + PROBE_SQL)

    result = run_dbt(["run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
                      "--threads", "1", "--target-path", str(tmp_path / "target")], settings=pg)
    assert result.success, result.summary()

    with connect("warehouse", pg) as conn:
        first = conn.execute("select * from marts.probe_first").fetchone()
        second = conn.execute("select * from marts.probe_second").fetchone()
        conn.execute("drop table marts.probe_first, marts.probe_second")
    assert first[1] == "123s" and first[2], "the probe's pre-hook did not run in the model's session"
    assert second[0] == first[0], "the second node opened a new connection"
    assert second[1:] == ("0", False), "the reused session kept the previous node's state"


def test_pipeline_builds_write_no_artifacts(pg: Settings, tmp_path, monkeypatch) -> None:
    """artifacts=False (the transform's own builds): no manifest.json, graph or run_results.json
    written, no SQL per node (target/compiled, target/run), and the file log at info (the node's
    outcome, not its statements); the outcome still comes back node by node. A person's command
    writes them all and logs every statement."""
    import shutil

    from tailor.db.connect import connect

    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    log = pg.home / "dbt" / "logs" / "dbt.log"

    def logged_since(offset: int) -> str:
        return log.read_bytes()[offset:].decode(errors="replace")

    (tmp_path / "dbt_project.yml").write_text(PROBE_PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "probe_artifacts.sql").write_text("select 1 as x")
    project = ["--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)]
    written = ("manifest.json", "run_results.json", "graph.gpickle")

    quiet = tmp_path / "quiet"
    offset = log.stat().st_size if log.exists() else 0
    result = run_dbt(["run", *project, "--target-path", str(quiet)], settings=pg, artifacts=False)
    assert result.success, result.summary()
    assert [(node.name, node.status) for node in result.nodes] == [("probe_artifacts", "success")]
    assert not [name for name in written if (quiet / name).exists()]
    assert not list(quiet.rglob("*.sql")), "a pipeline build wrote its nodes' SQL"
    quiet_log = logged_since(offset)
    assert "probe_artifacts" in quiet_log and "SQL status" not in quiet_log, quiet_log[-2000:]

    full = tmp_path / "full"
    offset = log.stat().st_size
    result = run_dbt(["run", *project, "--target-path", str(full)], settings=pg)
    assert result.success, result.summary()
    assert [name for name in written if (full / name).exists()] == list(written)
    assert {path.parent.parent.parent.name for path in full.rglob("probe_artifacts.sql")} == {"compiled", "run"}
    assert "SQL status" in logged_since(offset)
    with connect("warehouse", pg) as conn:
        conn.execute("drop table marts.probe_artifacts")


def test_events_nobody_reads_are_skipped_and_dbt_is_left_as_found(pg: Settings, tmp_path, monkeypatch) -> None:
    """run_dbt builds and fires only the events a logger will write (dbt builds each as a protobuf
    message twice otherwise, three per SQL statement): at the pipeline's info level a model's own
    info message and warning still reach dbt.log, its debug message does not, and at debug it does;
    dbt's event classes are put back afterwards."""
    import shutil

    from dbt_common.events.base_types import BaseEvent
    from dbt_common.events.event_manager import EventManager

    from tailor.db.connect import connect

    before = [BaseEvent.__dict__[name] for name in ("__init__", "__getattr__", "__setattr__")]
    before.append(EventManager.__dict__["fire_event"])
    log = pg.home / "dbt" / "logs" / "dbt.log"
    (tmp_path / "dbt_project.yml").write_text(PROBE_PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "probe_events.sql").write_text(
        "{{ log('probe info line', info=True) }}{{ log('probe debug line') }}"
        "{% if execute %}{{ exceptions.warn('probe warning line') }}{% endif %}\nselect 1 as x"
    )
    project = ["run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
               "--target-path", str(tmp_path / "target")]

    def logged(level: str | None) -> str:
        if level is None:
            monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
        else:
            monkeypatch.setenv("DBT_LOG_LEVEL_FILE", level)
        offset = log.stat().st_size if log.exists() else 0
        result = run_dbt(project, settings=pg, artifacts=False)
        assert result.success, result.summary()
        return log.read_bytes()[offset:].decode(errors="replace")

    at_info = logged(None)
    assert "probe info line" in at_info and "probe warning line" in at_info, at_info[-2000:]
    assert "probe debug line" not in at_info and "SQL status" not in at_info
    at_debug = logged("debug")
    assert "probe debug line" in at_debug and "SQL status" in at_debug, at_debug[-2000:]

    after = [BaseEvent.__dict__[name] for name in ("__init__", "__getattr__", "__setattr__")]
    after.append(EventManager.__dict__["fire_event"])
    assert after == before
    with connect("warehouse", pg) as conn:
        conn.execute("drop table marts.probe_events")


def test_node_finished_reports_each_node_as_it_ends(pg: Settings, tmp_path) -> None:
    """on_node_finished hears each node once, with its status (a model after a failed one:
    skipped), from the thread that ran it while dbt runs (the pipeline benchmark starts the
    matcher from it), and does not make run_dbt build every debug event: it reads NodeFinished."""
    import shutil
    import threading

    from tailor.db.connect import connect

    (tmp_path / "dbt_project.yml").write_text(PROBE_PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "probe_first.sql").write_text("select 1 as x")
    (tmp_path / "models" / "probe_broken.sql").write_text("select x from {{ ref('probe_first') }} where no_such_column")
    (tmp_path / "models" / "probe_skipped.sql").write_text("select x from {{ ref('probe_broken') }}")
    heard: list[tuple[str, str, bool]] = []
    from dbt_common.events.event_manager import EventManager

    fired: list[str] = []
    original = EventManager.fire_event

    def spy(self, e, *args, **kwargs):
        fired.append(type(e).__name__)
        return original(self, e, *args, **kwargs)

    EventManager.fire_event = spy
    try:
        result = run_dbt(
            ["run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path),
             "--target-path", str(tmp_path / "target")],
            settings=pg, artifacts=False,
            on_node_finished=lambda unique_id, status: heard.append(
                (unique_id, status, threading.current_thread() is not threading.main_thread())),
        )
    finally:
        EventManager.fire_event = original
    assert not result.success
    assert sorted(heard) == [
        ("model.connection_probe.probe_broken", "error", True),
        ("model.connection_probe.probe_first", "success", True),
        ("model.connection_probe.probe_skipped", "skipped", True),
    ], heard
    # per SQL statement, dbt's debug events: built and fired only when something reads them
    assert "SQLQuery" not in fired and "NodeFinished" in fired
    with connect("warehouse", pg) as conn:
        conn.execute("drop table marts.probe_first")


def test_before_node_holds_one_node_and_fails_it_when_it_raises(pg: Settings, tmp_path) -> None:
    """before_node runs in the node's thread before it runs: a node held there waits while the
    others go on (the pipeline's readers of the matcher's links); one whose before_node raises
    ends in error with the message, without running, and what follows it is skipped."""
    import shutil
    import threading

    from tailor.db.connect import connect

    (tmp_path / "dbt_project.yml").write_text(PROBE_PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    models = tmp_path / "models"
    models.mkdir()
    for name, sql in {
        "probe_free": "select 1 as x",
        "probe_held": "select 1 as x",
        "probe_after_held": "select x from {{ ref('probe_held') }}",
        "probe_gated": "select 1 as x",
        "probe_after_gated": "select x from {{ ref('probe_gated') }}",
    }.items():
        (models / f"{name}.sql").write_text(sql)
    prefix = "model.connection_probe."
    free_done = threading.Event()
    finished: list[str] = []
    seen: dict[str, tuple[str, ...]] = {}

    def before_node(unique_id: str, depends_on: tuple[str, ...]) -> None:
        seen[unique_id] = depends_on
        if unique_id == prefix + "probe_held":
            assert free_done.wait(60), "probe_free never finished while probe_held was held"
        if unique_id == prefix + "probe_gated":
            raise RuntimeError("the outside step failed: boom")

    def on_node_finished(unique_id: str, status: str) -> None:
        finished.append(unique_id)
        if unique_id == prefix + "probe_free":
            free_done.set()

    result = run_dbt(
        ["run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path), "--threads", "2",
         "--target-path", str(tmp_path / "target")],
        settings=pg, artifacts=False, before_node=before_node, on_node_finished=on_node_finished,
    )
    statuses = {node.name: node.status for node in result.nodes}
    assert statuses == {"probe_free": "success", "probe_held": "success", "probe_after_held": "success",
                        "probe_gated": "error", "probe_after_gated": "skipped"}, statuses
    gated = next(node for node in result.nodes if node.name == "probe_gated")
    assert "RuntimeError: the outside step failed: boom" in gated.message
    assert finished.index(prefix + "probe_free") < finished.index(prefix + "probe_held")
    assert seen[prefix + "probe_after_held"] == (prefix + "probe_held",)
    with connect("warehouse", pg) as conn:
        assert conn.execute("select to_regclass('marts.probe_gated')").fetchone() == (None,), "a failed gate ran"
        conn.execute("drop table marts.probe_free, marts.probe_held, marts.probe_after_held")
