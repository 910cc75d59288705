"""The contract check (the model's columns against the YAML's) runs in one query and still fails.

macros/contracts.sql overrides dbt's check for Postgres: the model's SQL and
the declared columns are read in one round trip instead of two. The check
must still pass a model that matches its contract, and fail one with a
column of the wrong type, a missing column or an extra one, with dbt's own
contract error, before anything is written; for a table and for an
incremental model's batch alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

PROJECT = """\
name: contract_probe
version: "1.0"
config-version: 2
profile: tailor
models:
  contract_probe:
    +contract: {enforced: true}
"""
SCHEMA = """\
version: 2
models:
  - name: probe_contract_table
    config: {materialized: table}
    columns:
      - {name: probe_id, data_type: bigint, constraints: [{type: primary_key}]}
      - {name: label, data_type: text}
  - name: probe_contract_incremental
    config: {materialized: incremental, unique_key: probe_id, incremental_strategy: delete+insert, on_schema_change: fail}
    columns:
      - {name: probe_id, data_type: bigint, constraints: [{type: primary_key}]}
      - {name: label, data_type: text}
"""
MODELS = ("probe_contract_table", "probe_contract_incremental")
MATCHING = "select 1::bigint as probe_id, 'one'::text as label"
BROKEN = {
    "wrong type": "select 1::bigint as probe_id, 1::integer as label",
    "missing column": "select 1::bigint as probe_id",
    "extra column": "select 1::bigint as probe_id, 'one'::text as label, 2 as extra",
}


def build(pg: Settings, project: Path, sql: str) -> dict[str, tuple[str, str]]:
    """Each model's (status, message) after a run with `sql` as both models' SQL."""
    for name in MODELS:
        (project / "models" / f"{name}.sql").write_text(sql)
    result = run_dbt(["run", "--project-dir", str(project), "--profiles-dir", str(project),
                      "--target-path", str(project / "target")], settings=pg)
    return {node.name: (node.status, node.message or "") for node in result.nodes}


def test_the_contract_check_passes_matches_and_fails_mismatches(pg: Settings, tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text(PROJECT)
    shutil.copy(pg.dbt_project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "macros").mkdir()
    shutil.copy(pg.dbt_project_dir / "macros" / "contracts.sql", tmp_path / "macros" / "contracts.sql")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "schema.yml").write_text(SCHEMA)
    try:
        for _ in range(2):  # then the incremental model's batch is checked too
            outcome = build(pg, tmp_path, MATCHING)
            assert {name: status for name, (status, _) in outcome.items()} == dict.fromkeys(MODELS, "success"), outcome
        for what, sql in BROKEN.items():
            outcome = build(pg, tmp_path, sql)
            for name in MODELS:
                status, message = outcome[name]
                assert status == "error" and "enforced contract" in message, \
                    f"{name} with a {what}: not failed by the contract check ({status}: {message})"
    finally:
        with connect("warehouse", pg) as conn:
            conn.execute("drop table if exists marts.probe_contract_table, marts.probe_contract_incremental")
