"""`tailor run`: the DAGs, locally, in dependency order, through Airflow itself.

Each DAG runs with ``airflow dags test`` (a real DagRun, real task instances,
SQLite metadata under ``.tailor/airflow``), so what runs here is what the
scheduler runs in production. The chain stops at the first failed DAG: in
particular, a failed quality gate means the export never starts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from tailor.config import Settings, get_settings

# Dependency order of the asset chain (DESIGN.md): capture -> transform -> gate -> export.
PIPELINE: tuple[str, ...] = ("tailor_capture", "tailor_transform", "tailor_quality_gate", "tailor_export")

_FINISHED = re.compile(r"DagRun Finished: dag_id=(\S+?),.*?state=(\w+)")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*: .+")
_FAILED_TASK = re.compile(r"task_id='?([\w.]+)'?.*?new_state=failed|Marking task as FAILED.*?task_id=([\w.]+)")


class RunError(RuntimeError):
    """A DAG run failed; the message names the DAG, the task and the log."""


@dataclass
class DagRunResult:
    dag_id: str
    state: str
    seconds: float
    log_file: Path
    error: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["log_file"] = str(self.log_file)
        return data


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for Airflow processes: home, DAGs, connections, quiet telemetry."""
    from tailor.db.connect import database_url

    settings = settings or get_settings()
    env = dict(os.environ)
    warehouse = database_url("warehouse", settings)
    env.update(
        {
            "AIRFLOW_HOME": str(settings.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.project_root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "TAILOR_HOME": str(settings.home),
            # The warehouse as an Airflow connection: Cosmos builds dbt's profile from it.
            "AIRFLOW_CONN_TAILOR_WAREHOUSE": warehouse.replace("postgresql://", "postgres://", 1),
        }
    )
    return env


def ensure_airflow_db(settings: Settings | None = None) -> None:
    """Create Airflow's SQLite metadata once (a stamp file marks it done)."""
    settings = settings or get_settings()
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    stamp = settings.airflow_home / ".migrated"
    if stamp.exists():
        return
    env = airflow_env(settings)
    # migrate, then serialize the DAGs so the CLI and UI list them before any
    # DAG processor has run
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        result = subprocess.run([airflow_bin(), *command], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RunError(f"'airflow {' '.join(command)}' failed:\n{(result.stderr or result.stdout)[-3000:]}")
    stamp.touch()


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def run_dag(
    dag_id: str, logical_date: datetime, settings: Settings | None = None
) -> DagRunResult:
    """One DagRun via ``airflow dags test``; its full log goes to a file."""
    settings = settings or get_settings()
    log_dir = settings.airflow_home / "runs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = logical_date.strftime("%Y%m%dT%H%M%S")
    log_file = log_dir / f"{dag_id}-{stamp}.log"
    started = time.monotonic()
    with log_file.open("w") as log:
        proc = subprocess.run(
            [airflow_bin(), "dags", "test", dag_id, logical_date.isoformat()],
            env=airflow_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    text = log_file.read_text(errors="replace")
    finished = [m.group(2) for m in _FINISHED.finditer(text) if m.group(1) == dag_id]
    state = finished[-1] if finished and proc.returncode == 0 else "failed"
    error = None if state == "success" else _summarise_failure(text)
    return DagRunResult(dag_id, state, seconds, log_file, error)


def _summarise_failure(log_text: str) -> str:
    """The failed task and the last exception line: what a person needs first."""
    task = None
    for match in _FAILED_TASK.finditer(log_text):
        task = match.group(1) or match.group(2)
    # The last line of the last traceback: "package.module.ErrorClass: message".
    exception = None
    in_traceback = False
    for line in log_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback and _EXCEPTION_LINE.match(stripped):
            exception = stripped
            in_traceback = False
    if exception is None and "import errors" in log_text.lower():
        exception = "the DAG file failed to import (see the log)"
    parts = [f"task {task}" if task else "a task", exception or "failed (see the log)"]
    return ": ".join(parts)


def run_pipeline(
    dag_ids: Sequence[str] | None = None,
    logical_date: datetime | None = None,
    settings: Settings | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[DagRunResult], None] | None = None,
) -> list[DagRunResult]:
    """Run DAGs in pipeline order; stop at the first failure (so no export without a gate)."""
    from datetime import UTC

    settings = settings or get_settings()
    selected = list(dag_ids) if dag_ids else list(PIPELINE)
    unknown = [d for d in selected if d not in PIPELINE]
    if unknown:
        raise RunError(f"Unknown DAG(s) {', '.join(unknown)}; Tailor's DAGs are {', '.join(PIPELINE)}.")
    ordered = [d for d in PIPELINE if d in selected]
    logical_date = logical_date or datetime.now(UTC).replace(microsecond=0)
    ensure_airflow_db(settings)
    results: list[DagRunResult] = []
    for dag_id in ordered:
        if on_start:
            on_start(dag_id)
        result = run_dag(dag_id, logical_date, settings)
        results.append(result)
        if on_done:
            on_done(result)
        if result.state != "success":
            break
    return results
