"""Running Tailor's dbt project from Python (CLI, tests, Airflow helpers).

dbt is invoked in-process through ``dbtRunner`` rather than a subprocess: it
is faster (no interpreter start, no re-import of dbt per call) and hands back
structured results we can summarise. Connection details reach dbt's
``profiles.yml`` only through the ``TAILOR_DBT_*`` environment variables,
derived from the warehouse URL, so no secret is ever written to disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from tailor.config import Settings, get_settings
from tailor.db.connect import NotRunningError, database_url, url_parts

# dbt sub-commands that accept --project-dir/--profiles-dir/--target-path.
_PROJECT_COMMANDS = {
    "build", "clone", "compile", "debug", "docs", "list", "ls", "parse", "retry",
    "run", "run-operation", "seed", "show", "snapshot", "source", "test",
}
# dbt's file log level for the pipeline's own builds (run_dbt's
# artifacts=False, the transform DAG's tasks): what ran and how it ended,
# not every statement.
PIPELINE_LOG_LEVEL_FILE = "info"
# Files whose change makes a parsed manifest stale.
_PROJECT_SUFFIXES = {".sql", ".yml", ".yaml", ".md", ".csv"}


@dataclass
class NodeOutcome:
    """One dbt node's result, as much as a person needs to act on it."""

    name: str
    resource_type: str
    status: str
    message: str = ""
    seconds: float = 0.0
    unique_id: str = ""
    depends_on: tuple[str, ...] = ()     # unique ids of the nodes it reads (a test: the nodes it tests)
    started_at: float | None = None      # epoch seconds, compile start
    finished_at: float | None = None     # epoch seconds, execute end

    def timed(self) -> tuple[str, float]:
        """("model name", seconds): how the benchmark lists a node."""
        return f"{self.resource_type} {self.name}", round(self.seconds, 2)


@dataclass
class DbtResult:
    """What a dbt invocation did: success, counts and the failing nodes."""

    command: list[str]
    success: bool
    nodes: list[NodeOutcome] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(1 for node in self.nodes if node.status in statuses)

    @property
    def failures(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    @property
    def warnings(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status == "warn"]

    def summary(self) -> str:
        """A readable one-paragraph account: counts, then each failure/warning."""
        head = "dbt " + " ".join(self.command[:1]) + (" succeeded" if self.success else " FAILED")
        if self.nodes:
            head += (
                f": {self.count('success', 'pass')} passed, {len(self.failures)} failed, "
                f"{len(self.warnings)} warned, {self.count('skipped')} skipped"
            )
        head += f" in {self.elapsed_s:.1f}s"
        lines = [head]
        lines += [f"  FAILED {n.resource_type} {n.name}: {n.message}" for n in self.failures]
        lines += [f"  WARN   {n.resource_type} {n.name}: {n.message}" for n in self.warnings]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """The TAILOR_DBT_* variables profiles.yml reads, from the warehouse URL."""
    parts = url_parts(database_url("warehouse", settings))
    return {
        "TAILOR_DBT_HOST": str(parts["host"]),
        "TAILOR_DBT_PORT": str(parts["port"]),
        "TAILOR_DBT_USER": str(parts["user"]),
        "TAILOR_DBT_PASSWORD": str(parts["password"]),
        "TAILOR_DBT_DBNAME": str(parts["dbname"]),
    }


def segment_models(settings: Settings | None = None) -> list[str]:
    """The segment models (``models/marts/segments/seg_*.sql``), sorted.

    Passed to dbt as the ``segment_models`` var so ``segment_memberships``
    can declare them as dependencies while parsing, when dbt's graph is
    still empty: adding a segment file is then all an analyst does.
    """
    settings = settings or get_settings()
    folder = settings.dbt_project_dir / "models" / "marts" / "segments"
    return sorted(path.stem for path in folder.glob("seg_*.sql"))


def default_vars(settings: Settings | None = None) -> dict[str, Any]:
    """Vars every invocation gets (callers' vars override them)."""
    return {"segment_models": segment_models(settings)}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set env vars for an in-process dbt call, restoring them afterwards."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _adapter_flags_restored() -> Iterator[None]:
    """Undo what an in-process dbt call leaks into dbt-adapters' default behaviour flags.

    Every adapter dbt creates (one per invocation) extends the module-level
    ``DEFAULT_BASE_BEHAVIOR_FLAGS`` list with its own flags (dbt-adapters
    1.24, ``BaseAdapter.behavior``'s setter), and every flag without a
    ``source`` walks the whole call stack with ``inspect.stack()`` when the
    next adapter is created. In one process the n-th invocation thus pays n
    stack walks (tens of ms each under pytest or Airflow): after a few
    hundred calls, seconds per call. The list is put back as it was found.
    """
    from dbt.adapters.base import impl

    flags = impl.DEFAULT_BASE_BEHAVIOR_FLAGS
    kept = list(flags)
    try:
        yield
    finally:
        flags[:] = kept


def _release_keeping_open(manager: Any) -> None:
    """``release()`` for dbt-postgres that leaves the thread's connection open, as a fresh session.

    Whatever the node left open is rolled back, then ``DISCARD ALL`` drops
    what a new session would not have (temp tables, ``set`` settings,
    prepared statements, advisory locks), so the next node on the thread
    sees a clean session; the catalog caches the backend built stay warm.
    A connection that cannot be reset is closed, as dbt would have.
    """
    from dbt.adapters.contracts.connection import ConnectionState

    with manager.lock:
        connection = manager.get_if_exists()
    if connection is None or connection.state != ConnectionState.OPEN:
        return
    try:
        handle = connection.handle
        handle.rollback()
        connection.transaction_open = False
        handle.autocommit = True
        with handle.cursor() as cursor:
            cursor.execute("discard all")
        handle.autocommit = False
    except Exception:
        manager.close(connection)


@contextmanager
def _connections_kept() -> Iterator[None]:
    """Keep each dbt thread's PostgreSQL connection from one node to the next.

    dbt-adapters closes a thread's connection after every node
    (``BaseConnectionManager.release``: "always close the connection", a fix
    made for Snowflake in dbt-core#2645; reuse for Postgres was asked for in
    dbt-labs/dbt-adapters#83 and never added). Every node of a build then
    paid a new backend, SCRAM authentication and cold catalog caches (about
    15 ms here; an incremental transform at 100k customers runs some 170
    nodes: staging 3.7 -> 3.2 s, the rest 14.2 -> 13.6 s).
    During the call, released connections are reset and kept instead
    (:func:`_release_keeping_open`); dbt's cleanup at the end of the
    invocation closes them. The patch is process-wide for the call, like the
    environment run_dbt sets: one dbt invocation at a time per process.
    """
    from dbt.adapters.postgres.connections import PostgresConnectionManager

    original = PostgresConnectionManager.__dict__.get("release")
    PostgresConnectionManager.release = _release_keeping_open
    try:
        yield
    finally:
        if original is None:
            del PostgresConnectionManager.release
        else:
            PostgresConnectionManager.release = original


def _event_pending_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """``BaseEvent.__init__`` that keeps the fields; the message is built when first read."""
    object.__setattr__(self, "_tailor_pending", (args, kwargs))


def _event_getattr(self: Any, key: str) -> Any:
    """``BaseEvent.__getattr__`` (called when normal lookup fails) that builds a pending message."""
    if key == "_tailor_pending":
        raise AttributeError(key)
    if key == "pb_msg":
        pending = self.__dict__.pop("_tailor_pending", None)
        if pending is None:
            raise AttributeError(key)
        args, kwargs = pending
        _EVENT_INIT(self, *args, **kwargs)
        return self.__dict__["pb_msg"]
    return getattr(self.pb_msg, key)


def _event_setattr(self: Any, key: str, value: Any) -> None:
    if key == "pb_msg":
        object.__setattr__(self, key, value)
    else:
        setattr(self.pb_msg, key, value)


def _fire_when_read(original: Any) -> Any:
    """``EventManager.fire_event`` that drops an event no logger or callback would take."""
    from dbt_common.events.logger import _log_level_map

    def fire_event(self: Any, e: Any, level: Any = None, node: Any = None,
                   force_warn_or_error_handling: bool = False) -> None:
        name = type(e).__name__
        read_by_callbacks = any(_CALLBACK_READS.get(_callback_name(callback), name) == name
                                for callback in self.callbacks)
        if not (force_warn_or_error_handling or read_by_callbacks or name == "PrintEvent"):
            severity = _log_level_map[level or e.level_tag()]
            if not any(logger._python_logger is not None and logger._python_logger.isEnabledFor(severity)
                       for logger in self.loggers):
                return
        original(self, e, level, node, force_warn_or_error_handling)

    return fire_event


def _callback_name(callback: Any) -> str | None:
    """A function's qualified name, or a callable object's class's."""
    return getattr(callback, "__qualname__", None) or getattr(type(callback), "__qualname__", None)


class _NodeFinished:
    """A dbt callback that passes each finished node's unique id and status to ``handler``."""

    def __init__(self, handler: Callable[[str, str], None]) -> None:
        self.handler = handler

    def __call__(self, msg: Any) -> None:
        if msg.info.name == "NodeFinished":
            self.handler(msg.data.node_info.unique_id, msg.data.run_result.status)


_EVENT_INIT: Any = None
# Callbacks registered on dbt, by name, and the one event each reads:
# dbt.tracking's sends behaviour-change warnings to dbt's usage tracking
# (off here) and returns on any other event; run_dbt's on_node_finished.
_CALLBACK_READS = {"track_behavior_change_warn": "BehaviorChangeEvent", "_NodeFinished": "NodeFinished"}


@contextmanager
def _unread_events_skipped() -> Iterator[None]:
    """Build and fire only the dbt events something will read.

    dbt builds every event as a protobuf message from a dict
    (``ParseDict``, in ``BaseEvent.__init__``) and again, wrapped with its
    metadata, when firing it (``msg_from_base_event``), before any logger
    looks at its level. Three debug events per SQL statement
    (``ConnectionUsed``, ``SQLQuery``, ``SQLQueryStatus``) nobody reads at
    the pipeline's log levels: an incremental transform at 100k customers
    used 5.0-5.3 s of Python CPU with them, 3.9-4.2 s without, held under
    the GIL the model threads share.

    During the call an event keeps its fields and builds its message when
    first read, and the event manager drops an event below the level of
    every logger that writes (by the Python logger's own ``isEnabledFor``,
    so a caller's logger at debug still gets it) when no callback reads it
    (a caller's callback reads everything; dbt's own usage-tracking
    callback only behaviour-change warnings). Warnings that may become
    errors (``force_warn_or_error_handling``) and ``PrintEvent`` (sent as
    an error so ``--quiet`` shows it) always go through.
    ``DBT_LOG_LEVEL_FILE=debug`` brings every statement back to dbt.log.
    dbt fires each event where it creates it, so none outlives the call
    unread. Process-wide for the call, like the other patches here.
    """
    global _EVENT_INIT
    from dbt_common.events.base_types import BaseEvent
    from dbt_common.events.event_manager import EventManager

    originals = {name: BaseEvent.__dict__[name] for name in ("__init__", "__getattr__", "__setattr__")}
    original_fire = EventManager.__dict__["fire_event"]
    _EVENT_INIT = originals["__init__"]
    BaseEvent.__init__ = _event_pending_init  # type: ignore[method-assign]
    BaseEvent.__getattr__ = _event_getattr  # type: ignore[method-assign]
    BaseEvent.__setattr__ = _event_setattr  # type: ignore[method-assign]
    EventManager.fire_event = _fire_when_read(original_fire)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(BaseEvent, name, function)
        EventManager.fire_event = original_fire  # type: ignore[method-assign]


@contextmanager
def _compiled_sql_unwritten() -> Iterator[None]:
    """Keep dbt from writing each node's SQL to target/compiled and target/run during the call.

    dbt writes every node's compiled SQL, and a model's SQL again as it
    runs it, from the threads that run the models: two files opened,
    truncated and written per node. On a disk the warehouse's WAL is
    flushed to at every commit, those writes waited on the file system's
    journal: 0.3-0.5 s of an incremental transform's critical path at 100k
    customers (``tailor bench pipeline``). Nothing reads them back; the
    node's ``compiled_path`` is still set. Process-wide for the call, like
    the other patches here.
    """
    from dbt.contracts.graph.nodes import ParsedNode

    original = ParsedNode.__dict__["write_node"]
    ParsedNode.write_node = lambda self, project_root, compiled_path, compiled_code: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        ParsedNode.write_node = original  # type: ignore[method-assign]


@contextmanager
def _nodes_held(before_node: Callable[[str, tuple[str, ...]], None] | None) -> Iterator[None]:
    """Call ``before_node(unique_id, depends_on)`` in the thread about to run each node, before it runs.

    What blocks there holds that node (and so everything after it) while
    the other threads go on. What raises there ends the node in error with
    the exception's message, before it compiled or ran anything, and dbt
    skips the nodes after it, as after a failing statement.
    """
    if before_node is None:
        yield
        return
    import time

    from dbt.task.base import BaseRunner

    original = BaseRunner.__dict__["run_with_hooks"]

    def run_with_hooks(self: Any, manifest: Any) -> Any:
        node = self.node
        if getattr(self, "skip", False):  # dbt reports it skipped: nothing to wait for
            return original(self, manifest)
        started = time.time()
        try:
            before_node(node.unique_id, tuple(node.depends_on.nodes) if hasattr(node, "depends_on") else ())
        except Exception as exc:
            return self.error_result(node, f"{type(exc).__name__}: {exc}", started, [])
        return original(self, manifest)

    BaseRunner.run_with_hooks = run_with_hooks  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseRunner.run_with_hooks = original  # type: ignore[method-assign]


def _split_user_vars(args: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Pull a user's ``--vars '{...}'`` out of args so it merges with ours."""
    import yaml

    rest: list[str] = []
    user_vars: dict[str, Any] = {}
    items = iter(args)
    for arg in items:
        if arg == "--vars" or arg.startswith("--vars="):
            raw = arg.split("=", 1)[1] if "=" in arg else next(items, "{}")
            loaded = yaml.safe_load(raw) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"--vars must be a YAML/JSON mapping, got {raw!r}")
            user_vars.update(loaded)
        else:
            rest.append(arg)
    return rest, user_vars


def _reason(message: str) -> str:
    """The first line of a dbt message, plus the next when the first is only dbt's header.

    dbt words errors as "Compilation Error in test X (path)" and puts the
    reason on the following line; a summary needs the reason.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and " Error in " in lines[0]:
        return f"{lines[0]}: {lines[1]}"
    return lines[0]


def _outcomes(result: Any) -> list[NodeOutcome]:
    """Node results of a run-like command (build/run/test/seed); [] otherwise."""
    outcomes: list[NodeOutcome] = []
    for item in getattr(result, "results", None) or []:
        node = getattr(item, "node", None)
        if node is None:
            continue
        timing = [t for t in getattr(item, "timing", None) or [] if t.started_at and t.completed_at]
        outcomes.append(
            NodeOutcome(
                name=node.name,
                resource_type=str(getattr(node, "resource_type", "")),
                status=str(getattr(item.status, "value", item.status)),
                message=_reason(item.message or ""),
                seconds=float(getattr(item, "execution_time", 0.0) or 0.0),
                unique_id=str(getattr(node, "unique_id", "")),
                depends_on=tuple(getattr(getattr(node, "depends_on", None), "nodes", None) or ()),
                started_at=_epoch(timing[0].started_at) if timing else None,
                finished_at=_epoch(timing[-1].completed_at) if timing else None,
            )
        )
    return outcomes


def blocking_chain(nodes: list[NodeOutcome]) -> list[tuple[str, float]]:
    """The nodes the dbt step's end waited on, first to last (its critical path as it ran).

    From the node that finished last, step back to what it waited for that
    finished last: a node it reads, or a test of one (dbt build runs a
    model's tests before its children). A step's duration is this chain's
    plus dbt's start and finish, whatever runs beside it; so a node off the
    chain shortens the step only by the CPU it leaves to the chain.
    """
    timed = {node.unique_id: node for node in nodes
             if node.started_at is not None and node.finished_at is not None}
    tests_of: dict[str, list[NodeOutcome]] = {}
    for node in timed.values():
        if node.resource_type == "test":
            for parent in node.depends_on:
                tests_of.setdefault(parent, []).append(node)

    def waited_for(node: NodeOutcome) -> list[NodeOutcome]:
        before = [timed[parent] for parent in node.depends_on if parent in timed]
        if node.resource_type != "test":
            before += [test for parent in node.depends_on for test in tests_of.get(parent, [])]
        return [other for other in before if other.finished_at <= node.started_at + 0.01]  # type: ignore[operator]

    chain = [max(timed.values(), key=lambda node: node.finished_at)] if timed else []
    while chain and (before := [n for n in waited_for(chain[-1]) if n not in chain]):
        chain.append(max(before, key=lambda node: node.finished_at))
    return [node.timed() for node in reversed(chain)]


def _epoch(moment: Any) -> float:
    """dbt's timing datetimes are naive UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def run_dbt(
    args: list[str],
    vars: dict[str, Any] | None = None,
    settings: Settings | None = None,
    *,
    artifacts: bool = True,
    on_node_finished: Callable[[str, str], None] | None = None,
    before_node: Callable[[str, tuple[str, ...]], None] | None = None,
) -> DbtResult:
    """Run ``dbt <args>`` against Tailor's project and the warehouse.

    The project, profiles (the project's own profiles.yml), target and log
    directories are filled in; ``vars`` merge over :func:`default_vars` and
    any ``--vars`` already in ``args``. ``as_of`` among them goes to dbt as
    the environment variable ``TAILOR_AS_OF`` (see macros/as_of.sql: a
    changed var would re-parse the whole project on every run).

    ``artifacts=False`` is for the pipeline's own builds, whose outcome comes
    back in the :class:`DbtResult`: dbt then writes no target/*.json
    (``--no-write-json``) and no SQL per node under target/compiled and
    target/run (:func:`_compiled_sql_unwritten`). It otherwise writes
    manifest.json twice per invocation (after loading the manifest and at
    the end), graph.gpickle and run_results.json: about 1.2 s of an
    incremental build at 100k customers (README, pipeline benchmark).
    Commands a person runs keep them: ``dbt retry`` and ``dbt docs`` read
    them, and the SQL files show what ran. Those builds also log
    to logs/dbt.log at ``info`` (what ran, how it ended, every error)
    instead of ``debug`` (every SQL statement, about 300 per build): dbt
    formats and writes each event in the threads that run the models,
    about 0.25 s of an incremental staging build and 0.5 s of the rest at
    100k customers. ``DBT_LOG_LEVEL_FILE=debug`` in the environment brings
    the statements back.

    ``on_node_finished(unique_id, status)`` is called as each node ends
    (status ``success``, ``error``, ``pass``, ``fail``, ...), in the thread
    that ran it: what must start as soon as one model is built (the pipeline
    benchmark's matcher, after ``stg_shop__customers``) starts from there.
    ``before_node(unique_id, depends_on)`` is called in the thread about to
    run each node, before it runs: what must wait for work outside dbt (the
    benchmark's readers of the matcher's links) waits there, and an
    exception it raises fails that node (:func:`_nodes_held`).
    """
    import time

    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    if not args:
        raise ValueError("run_dbt needs a dbt command, e.g. ['build'] or ['run', '--select', 'staging']")
    args, user_vars = _split_user_vars(list(args))
    merged_vars = {**default_vars(settings), **user_vars, **(vars or {})}
    as_of = merged_vars.pop("as_of", None)

    command = list(args)
    if command[0] in _PROJECT_COMMANDS:
        project = str(settings.dbt_project_dir)
        if "--project-dir" not in command:
            command += ["--project-dir", project]
        if "--profiles-dir" not in command:
            command += ["--profiles-dir", project]
        if "--target-path" not in command:
            command += ["--target-path", str(settings.dbt_target_dir)]
        command += ["--vars", json.dumps(merged_vars)]
        if not artifacts:
            command.append("--no-write-json")

    try:
        env = dbt_env(settings)
    except NotRunningError:
        if command[0] not in ("parse", "ls", "list", "compile", "docs"):
            raise
        env = {}  # parsing needs no connection; profiles.yml has defaults
    if not artifacts and "DBT_LOG_LEVEL_FILE" not in os.environ:
        env["DBT_LOG_LEVEL_FILE"] = PIPELINE_LOG_LEVEL_FILE
    env.update({
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "TAILOR_AS_OF": str(as_of) if as_of else "",  # set either way: never one inherited from the caller
    })
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    with (_environment(env), _adapter_flags_restored(), _connections_kept(), _unread_events_skipped(),
          _nodes_held(before_node), _compiled_sql_unwritten() if not artifacts else nullcontext()):
        callbacks = [_NodeFinished(on_node_finished)] if on_node_finished else []
        outcome = dbtRunner(callbacks=callbacks).invoke(command)
    elapsed = time.monotonic() - started

    error = None
    if outcome.exception is not None:
        error = f"{type(outcome.exception).__name__}: {outcome.exception}"
    return DbtResult(
        command=args,
        success=bool(outcome.success),
        nodes=_outcomes(outcome.result),
        error=error,
        elapsed_s=elapsed,
    )


def manifest_path(settings: Settings | None = None) -> Path:
    """Where the manifest Cosmos renders from lives.

    Not in the regular target dir: a `dbt build` there rewrites the manifest
    with that run's vars, and the DAG's shape must not depend on the last
    manual command.
    """
    settings = settings or get_settings()
    return settings.dbt_target_dir.parent / "manifest" / "manifest.json"


def _newest_project_mtime(project_dir: Path) -> float:
    newest = 0.0
    for path in project_dir.rglob("*"):
        if path.suffix in _PROJECT_SUFFIXES and "target" not in path.parts and "logs" not in path.parts:
            newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest(settings: Settings | None = None) -> Path:
    """Path to an up-to-date ``manifest.json``, running ``dbt parse`` if needed.

    Cosmos renders the transform DAG from this manifest (fast DAG parsing:
    no dbt ls at every scheduler loop); it is re-parsed only when a project
    file is newer than it or the segment list changed.
    """
    settings = settings or get_settings()
    path = manifest_path(settings)
    stamp = path.with_name("manifest.vars.json")
    wanted_vars = json.dumps(default_vars(settings), sort_keys=True)
    fresh = (
        path.exists()
        and path.stat().st_mtime >= _newest_project_mtime(settings.dbt_project_dir)
        and stamp.exists()
        and stamp.read_text() == wanted_vars
    )
    if fresh:
        return path
    result = run_dbt(["parse", "--target-path", str(path.parent)], settings=settings)
    if not result.success or not path.exists():
        raise RuntimeError(
            f"dbt parse of {settings.dbt_project_dir} failed, so there is no manifest to render "
            f"the transform DAG from:\n{result.summary()}\nFix the project (try 'tailor dbt parse')."
        )
    stamp.write_text(wanted_vars)
    return path
