"""The dbt project documents and tests what it builds, and declares who reads it.

Checked against dbt's manifest and the columns the fixture warehouse really
has (information_schema), not against the YAML alone: a column added to a
model's SQL without a description, a described column the SQL no longer
produces, a model without a primary key (a test, or a constraint that is
enforced), a constraint nothing enforces, or an exposure whose code reads
a model it does not declare, fails here with the file to fix.

The warehouse is built with `dbt run` (models only): whether the data tests
pass is test_dbt_models.py's business; this module is about the contract.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixtures.warehouse_build import AS_OF, load_raw_fixture, reset_warehouse

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.transform.dbt import DbtResult, run_dbt

pytestmark = pytest.mark.integration

# Models allowed to go without a primary-key test, each with the reason.
# Keep it short: almost every model has a grain, and its key test is what
# catches a fan-out join.
KEY_TEST_EXEMPTIONS: dict[str, str] = {
    "stg_shop__cdc_watermarks": (
        "one row per source_table by construction (group by over raw.cdc_events, whose "
        "source_table is not null by the table's constraint); a key test would aggregate the "
        "whole, ever-growing change log on every build"
    ),
    "customer_profiles": (
        "a view adding as-of values to each row of int_persons_profiled, whose contract makes "
        "person_id its primary key (Postgres enforces it as the table is built); a test of the "
        "view would read every profile again on each build for the same rows"
    ),
    "contactability": (
        "a send-time view; every build copies it into contactability_at_build, a table whose "
        "contract holds its rules (person_id its primary key), so a test of the view would "
        "recompute it only to check the same rows again"
    ),
}

# Exposure types dbt accepts.
EXPOSURE_TYPES = {"dashboard", "notebook", "analysis", "ml", "application"}

# Warehouse schemas dbt builds or declares as sources: an exposure's code
# naming "<schema>.<relation>" in one of them reads (or writes) a dbt node.
DBT_SCHEMAS = ("raw", "staging", "intermediate", "marts", "ml", "exports", "enrich")
RELATION_IN_CODE = re.compile(rf"\b({'|'.join(DBT_SCHEMAS)})\.([a-z_][a-z0-9_]*)\b")

# Words a description may add to a column name and still say nothing.
FILLER_WORDS = {"the", "a", "an", "its", "this", "of"}


@dataclass
class Project:
    settings: Settings
    manifest: dict[str, Any]
    columns: dict[tuple[str, str], list[str]]  # (schema, relation) -> columns in order
    run: DbtResult

    def models(self) -> list[dict[str, Any]]:
        return sorted(
            (
                n
                for n in self.manifest["nodes"].values()
                if n["resource_type"] == "model"
                and n["package_name"] == self.manifest["metadata"]["project_name"]
            ),
            key=lambda n: n["original_file_path"],
        )

    def tests_on(self, unique_id: str) -> list[dict[str, Any]]:
        return [
            n
            for n in self.manifest["nodes"].values()
            if n["resource_type"] == "test" and n.get("attached_node") == unique_id
        ]


@pytest.fixture(scope="module")
def project(pg: Settings) -> Project:
    reset_warehouse(pg)
    load_raw_fixture(pg)
    parsed = run_dbt(["parse"], settings=pg)
    if not parsed.success:
        pytest.fail(f"dbt parse failed, so nothing can be checked:\n{parsed.summary()}")
    built = run_dbt(["run"], vars={"as_of": AS_OF}, settings=pg)
    manifest = json.loads((pg.dbt_target_dir / "manifest.json").read_text())
    columns: dict[tuple[str, str], list[str]] = defaultdict(list)
    with connect("warehouse", pg) as conn:
        for schema, relation, column in conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema = any(%s) order by table_schema, table_name, ordinal_position",
            (list(DBT_SCHEMAS),),
        ):
            columns[(schema, relation)].append(column)
    return Project(pg, manifest, dict(columns), built)


# ---- helpers -------------------------------------------------------------------


def _yaml_file(node: dict[str, Any]) -> str:
    """Where a model is documented: its YAML file, or where that file should be."""
    if node.get("patch_path"):
        return "dbt_project/" + node["patch_path"].split("://", 1)[-1]
    folder = Path(node["original_file_path"]).parent
    return f"dbt_project/{folder}/_{folder.name}__models.yml (no entry yet for {node['name']})"


def _report(title: str, offenders: Iterable[tuple[str, str]], hint: str) -> str:
    """Offenders grouped by the file to fix, one per line."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for file, what in offenders:
        by_file[file].append(what)
    lines = [f"{title} ({sum(len(v) for v in by_file.values())}); {hint}"]
    for file in sorted(by_file):
        lines.append(f"  {file}:")
        lines += [f"    - {what}" for what in sorted(by_file[file])]
    return "\n".join(lines)


def _is_hollow(name: str, description: str) -> bool:
    """Empty, or only the name again ('The person_id', 'City.')."""
    words = [
        w for w in re.sub(r"[^a-z0-9]+", " ", description.lower()).split() if w not in FILLER_WORDS
    ]
    return not words or words == name.lower().strip("_").replace("_", " ").split()


def _real_columns(project: Project, node: dict[str, Any]) -> list[str] | None:
    return project.columns.get((node["schema"], node["alias"]))


def _built_models(project: Project) -> list[tuple[dict[str, Any], list[str]]]:
    found = []
    for node in project.models():
        real = _real_columns(project, node)
        if real is not None:
            found.append((node, real))
    return found


# ---- models ----------------------------------------------------------------------


def test_every_model_is_built(project):
    """The column checks below need the relation: a model dbt could not build is named here."""
    missing = [
        (f"dbt_project/{n['original_file_path']}", f"{n['name']} ({n['schema']}.{n['alias']})")
        for n in project.models()
        if n["config"]["materialized"] != "ephemeral" and _real_columns(project, n) is None
    ]
    assert not missing, _report(
        "models dbt run did not build", missing, f"fix the SQL; dbt said:\n{project.run.summary()}"
    )


def test_every_model_has_a_description(project):
    offenders = [
        (_yaml_file(n), n["name"]) for n in project.models() if not n["description"].strip()
    ]
    assert not offenders, _report(
        "models without a description",
        offenders,
        "say what one row is and what it is for (doc blocks for repeated text)",
    )


def test_every_real_column_is_described(project):
    offenders = []
    for node, real in _built_models(project):
        documented = {name.lower(): col for name, col in node["columns"].items()}
        for column in real:
            description = (documented.get(column.lower()) or {}).get("description", "")
            if _is_hollow(column, description):
                state = (
                    "undocumented"
                    if column.lower() not in documented
                    else f"hollow: {description!r}"
                )
                offenders.append((_yaml_file(node), f"{node['name']}.{column} ({state})"))
    assert not offenders, _report(
        "columns the warehouse has without a real description",
        offenders,
        "say what the value is and where it comes from, not its name again",
    )


def test_every_documented_column_exists(project):
    offenders = []
    for node, real in _built_models(project):
        present = {c.lower() for c in real}
        offenders += [
            (_yaml_file(node), f"{node['name']}.{name} (the relation has: {', '.join(real)})")
            for name in node["columns"]
            if name.lower() not in present
        ]
    assert not offenders, _report(
        "documented columns the model does not produce",
        offenders,
        "rename or remove the entry (or its tests test nothing)",
    )


# Materializations whose relation Postgres enforces constraints on (with an
# enforced contract); every other one is a view, checked by constraints_hold.
# A cdc_incremental model is a view over a state table: Postgres enforces the
# rules on the state table (macros/cdc_incremental.sql, checked by
# test_state_tables_enforce_the_declared_constraints), constraints_hold checks
# the view's tail, so it needs the test like any view.
ENFORCING_MATERIALIZATIONS = {"table", "incremental"}


def _constraints_checked(project: Project, node: dict[str, Any]) -> bool:
    """Whether the model's YAML constraints are enforced: by Postgres (a table with an
    enforced contract, macros/contracts.sql) or by the constraints_hold test (a view; for a
    cdc_incremental view with Postgres enforcing them on its state table)."""
    if node["config"]["materialized"] in ENFORCING_MATERIALIZATIONS:
        return bool(node["config"].get("contract", {}).get("enforced"))
    return any(
        t["test_metadata"].get("name") == "constraints_hold" for t in project.tests_on(node["unique_id"])
    )


def _declared_constraints(node: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(type, columns) of every constraint the YAML declares, column and model level."""
    found = [
        (constraint["type"], [name])
        for name, column in node["columns"].items()
        for constraint in column.get("constraints", [])
    ]
    found += [(constraint["type"], list(constraint.get("columns") or [])) for constraint in node.get("constraints", [])]
    return found


def _key_tests(project: Project, node: dict[str, Any]) -> list[str]:
    """The model's primary keys, as tests or as enforced constraints: an unconditional,
    error-severity unique (+ not_null on the same column) or unique_combination (+ not_null
    on each column); or a primary_key constraint, or unique + not_null constraints."""
    tests = [
        t
        for t in project.tests_on(node["unique_id"])
        if not t["config"].get("where")
        and str(t["config"].get("severity", "error")).lower() == "error"
    ]
    constraints = _declared_constraints(node) if _constraints_checked(project, node) else []
    not_null = {t["column_name"] for t in tests if t["test_metadata"].get("name") == "not_null"}
    not_null |= {column for kind, columns in constraints if kind == "not_null" for column in columns}
    keys = []
    for test in tests:
        kind, kwargs = test["test_metadata"].get("name"), test["test_metadata"].get("kwargs", {})
        if kind == "unique" and test["column_name"] in not_null:
            keys.append(test["column_name"])
        elif kind == "unique_combination":
            combination = kwargs.get("combination_of_columns") or []
            if combination and all(column in not_null for column in combination):
                keys.append("+".join(combination))
    for kind, columns in constraints:
        if kind == "primary_key" or (kind == "unique" and columns and all(c in not_null for c in columns)):
            keys.append("+".join(columns))
    return keys


def test_declared_constraints_are_enforced(project):
    """A constraint in the YAML that nothing checks would be a promise nobody keeps: on a
    table dbt applies constraints only under an enforced contract, and on a view only the
    constraints_hold test reads them."""
    offenders = [
        (
            _yaml_file(n),
            f"{n['name']}: "
            + (
                "add `config: {contract: {enforced: true}}` (and a data_type on every column)"
                if n["config"]["materialized"] in ENFORCING_MATERIALIZATIONS
                else "add the model-level data test `constraints_hold`"
            ),
        )
        for n in project.models()
        if _declared_constraints(n) and not _constraints_checked(project, n)
    ]
    assert not offenders, _report("models whose constraints nothing enforces", offenders, "see each line")


def _state_rules_expected(node: dict[str, Any]) -> tuple[int, int]:
    """(check constraints, partial unique indexes) a cdc_incremental state table holds for the YAML:
    a check per not-null column (also a primary key's) and per check, an index per unique or
    primary key."""
    not_null: set[str] = set()
    checks = keys = 0
    for kind, columns in _declared_constraints(node):
        if kind in ("not_null", "primary_key"):
            not_null.update(columns)
        if kind in ("unique", "primary_key"):
            keys += 1
        elif kind == "check":
            checks += 1
    return len(not_null) + checks, keys


def test_state_tables_enforce_the_declared_constraints(project):
    """The constraints_hold test of a cdc_incremental view reads only its tail, trusting the
    state table to hold the rest to the rules: Postgres must hold it to every one."""
    offenders = []
    with connect("warehouse", project.settings) as conn:
        for node in project.models():
            if node["config"]["materialized"] != "cdc_incremental" or not _declared_constraints(node):
                continue
            state = f"{node['schema']}.{node['alias']}__state"
            (checks,) = conn.execute(
                r"select count(*) from pg_constraint where conrelid = %s::regclass and contype = 'c' "
                r"and conname like 'tailor\_%%'",
                (state,),
            ).fetchone()
            (keys,) = conn.execute(
                r"select count(*) from pg_index join pg_class as index on index.oid = pg_index.indexrelid "
                r"where pg_index.indrelid = %s::regclass and pg_index.indisunique "
                r"and pg_get_expr(pg_index.indpred, pg_index.indrelid) like '%%_op%%' "
                r"and index.relname like 'tailor\_%%'",
                (state,),
            ).fetchone()
            expected = _state_rules_expected(node)
            if (checks, keys) != expected:
                offenders.append(
                    (
                        "dbt_project/macros/cdc_incremental.sql",
                        f"{state}: {checks} checks and {keys} partial unique indexes on live rows, "
                        f"the YAML ({_yaml_file(node)}) declares {expected[0]} and {expected[1]}",
                    )
                )
    assert not offenders, _report(
        "state tables not held to their model's constraints",
        offenders,
        "cdc_state_rules / cdc_add_state_rules must put every rule on the state table",
    )


def test_every_model_has_a_primary_key_test(project):
    offenders = [
        (_yaml_file(n), n["name"])
        for n in project.models()
        if n["name"] not in KEY_TEST_EXEMPTIONS and not _key_tests(project, n)
    ]
    assert not offenders, _report(
        "models without a primary-key test",
        offenders,
        "declare a primary_key constraint on the key column(s) (tables: under an enforced "
        "contract; views: with the constraints_hold test), or add unique + not_null tests on "
        "the key column, or unique_combination (tests/generic/) + not_null on each key column; "
        "no `where`, no severity warn "
        f"(an exemption with its reason goes in KEY_TEST_EXEMPTIONS in {Path(__file__).name})",
    )


def test_key_test_exemptions_are_still_needed(project):
    models = {n["name"]: n for n in project.models()}
    stale = [
        (
            Path(__file__).name,
            f"{name}: " + ("no such model" if name not in models else "has a key test now"),
        )
        for name in KEY_TEST_EXEMPTIONS
        if name not in models or _key_tests(project, models[name])
    ]
    assert not stale, _report("stale KEY_TEST_EXEMPTIONS entries", stale, "remove them")


# ---- exposures ----------------------------------------------------------------------


def _exposures(project: Project) -> list[dict[str, Any]]:
    return sorted(project.manifest["exposures"].values(), key=lambda e: e["name"])


def test_exposures_are_declared_completely(project):
    exposures = _exposures(project)
    assert exposures, (
        "no exposures: declare every reader outside dbt in dbt_project/models/exposures.yml"
    )
    offenders = []
    for exposure in exposures:
        where = f"dbt_project/{exposure['original_file_path']}"
        name = exposure["name"]
        nodes = exposure["depends_on"]["nodes"]
        declared = len(exposure["refs"]) + len(exposure["sources"])
        if not nodes or len(nodes) != declared:
            offenders.append(
                (where, f"{name}: depends_on resolves to {nodes} of {declared} declared")
            )
        for unique_id in nodes:
            if (
                unique_id not in project.manifest["nodes"]
                and unique_id not in project.manifest["sources"]
            ):
                offenders.append(
                    (where, f"{name}: depends on {unique_id}, which is not in the project")
                )
        if exposure["type"] not in EXPOSURE_TYPES:
            offenders.append((where, f"{name}: type {exposure['type']!r}"))
        if not (exposure["owner"].get("name") and exposure["owner"].get("email")):
            offenders.append((where, f"{name}: owner needs a name and an email"))
        if not exposure["description"].strip():
            offenders.append((where, f"{name}: no description"))
    assert not offenders, _report("incomplete exposures", offenders, "fix the exposure")


def _relations(project: Project) -> dict[str, str]:
    """'schema.relation' -> unique_id of the dbt model or source living there."""
    found = {f"{n['schema']}.{n['alias']}": n["unique_id"] for n in project.models()}
    for source in project.manifest["sources"].values():
        found[f"{source['schema']}.{source['identifier']}"] = source["unique_id"]
    return found


def test_exposures_declare_what_their_code_reads(project):
    """Every dbt relation the code behind an exposure names is in its depends_on.

    The code is meta.code (paths from the repository root); relations it only
    writes are listed in meta.writes.
    """
    root = project.settings.dbt_project_dir.parent
    relations = _relations(project)
    offenders = []
    for exposure in _exposures(project):
        where = f"dbt_project/{exposure['original_file_path']}"
        name = exposure["name"]
        code = exposure["meta"].get("code") or []
        if not code:
            offenders.append(
                (where, f"{name}: no meta.code naming the code that reads the warehouse")
            )
        writes = set(exposure["meta"].get("writes") or [])
        depends = set(exposure["depends_on"]["nodes"])
        for path in code:
            file = root / path
            if not file.is_file():
                offenders.append((where, f"{name}: meta.code {path} does not exist"))
                continue
            for schema, relation in set(RELATION_IN_CODE.findall(file.read_text(encoding="utf-8"))):
                qualified = f"{schema}.{relation}"
                unique_id = relations.get(qualified)
                if unique_id and unique_id not in depends and qualified not in writes:
                    offenders.append(
                        (
                            where,
                            f"{name}: {path} reads {qualified} ({unique_id}), not in depends_on",
                        )
                    )
    assert not offenders, _report(
        "exposures out of step with their code",
        offenders,
        "add the ref()/source() to depends_on (or the relation to meta.writes if the code only writes it)",
    )
