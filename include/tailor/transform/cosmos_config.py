"""How the transform DAG renders and runs the dbt project through Cosmos.

Kept out of the DAG file so the DAG stays wiring only, and so the choices
are in one place:

* rendered from a manifest (``LoadMode.DBT_MANIFEST``) that
  :func:`tailor.transform.dbt.ensure_manifest` keeps fresh, so parsing the
  DAG never runs ``dbt ls``;
* dbt invoked in-process (``InvocationMode.DBT_RUNNER``), tests grouped in
  one task after all models (``TestBehavior.AFTER_ALL``): per-task dbt start
  up dominates run time on a small warehouse;
* two task groups, staging then everything else (``STAGING`` selector),
  so the identity matcher can run between them; tests are indirectly
  selected as ``buildable`` so a staging test that also touches a later
  model waits for the second group instead of failing in the first;
* the profile built from the Airflow connection ``tailor_warehouse`` (the
  runner provides ``AIRFLOW_CONN_TAILOR_WAREHOUSE``), never from a file
  holding a password.
"""

from __future__ import annotations

import os
from typing import Any

# Cosmos reads this when it is first imported; without it every task
# instance would phone home. Set it in the environment of every Airflow
# process too (the Cosmos plugin may be imported before any DAG file).
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")

from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos import settings as cosmos_settings
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
    TestIndirectSelection,
)
from cosmos.profiles import PostgresUserPasswordProfileMapping

from tailor.config import Settings, get_settings
from tailor.transform.dbt import PIPELINE_LOG_LEVEL_FILE, default_vars, ensure_manifest

# Belt and braces: the setting may have been read before our default applied.
cosmos_settings.enable_telemetry = False

__all__ = ["STAGING", "DbtTaskGroup", "execution_config", "operator_args", "profile_config", "project_config", "readers",
           "render_config"]

WAREHOUSE_CONN_ID = "tailor_warehouse"

# The first task group: staging views only (the matcher reads them).
STAGING = ["path:models/staging"]

# The run's "as of": Airflow 3 asset-triggered runs may have no logical
# date or data interval, so fall back to when the run was queued to run.
AS_OF_TEMPLATE = "{{ (data_interval_end or logical_date or dag_run.run_after).isoformat() }}"


def project_config(settings: Settings | None = None) -> ProjectConfig:
    settings = settings or get_settings()
    return ProjectConfig(
        dbt_project_path=settings.dbt_project_dir,
        manifest_path=ensure_manifest(settings),
        project_name="tailor",
        install_dbt_deps=False,
    )


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="tailor",
        target_name="warehouse",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=WAREHOUSE_CONN_ID,
            profile_args={"schema": "marts", "threads": 2},
        ),
    )


def render_config(select: list[str] | None = None, exclude: list[str] | None = None) -> RenderConfig:
    """Render the whole project, or the part picked by dbt ``select``/``exclude`` selectors."""
    return RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        test_behavior=TestBehavior.AFTER_ALL,
        emit_datasets=False,  # the DAG emits the one Asset that matters: MARTS
        select=list(select or []),
        exclude=list(exclude or []),
    )


def readers(group: DbtTaskGroup, unique_id: str) -> list[Any]:
    """The group's tasks for the models that read ``unique_id`` (a model of another group).

    What an outside step writes is read through one staging model; wiring
    the step to that model's readers only, instead of to the whole group,
    lets the rest of the group start without it.
    """
    found = [group.tasks_map[node_id] for node_id, node in group.dbt_graph.filtered_nodes.items()
             if unique_id in node.depends_on and node_id in group.tasks_map]
    if not found:
        raise ValueError(f"no model of task group {group.group_id!r} reads {unique_id}")
    return found


def execution_config() -> ExecutionConfig:
    return ExecutionConfig(
        execution_mode=ExecutionMode.LOCAL,
        invocation_mode=InvocationMode.DBT_RUNNER,
        test_indirect_selection=TestIndirectSelection.BUILDABLE,
    )


def operator_args(settings: Settings | None = None) -> dict[str, Any]:
    """Arguments for every Cosmos task: the vars, and ``TAILOR_AS_OF`` templated from the run's interval.

    as_of goes in the environment, not the vars: dbt re-parses the whole
    project whenever a var changes, and as_of changes every run (see
    macros/as_of.sql).
    """
    return {
        "vars": default_vars(settings),
        "install_deps": False,
        # no target/*.json per task: each task is a dbt invocation, and dbt
        # would write the manifest twice, its graph and run_results.json
        # (run_dbt's artifacts=False); the task log has the outcome. The
        # file log at info, as run_dbt's pipeline builds: not every statement
        "env": {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DBT_WRITE_JSON": "False",
                "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", PIPELINE_LOG_LEVEL_FILE),
                "TAILOR_AS_OF": AS_OF_TEMPLATE},
    }
