"""The quality gate: nothing is exported unless this passes.

Runs the GX checkpoint ``tailor_gate`` of the file context in ``include/gx/``
(profiles, audience, consent, raw freshness), builds the Data Docs site and
returns one result a person, a DAG task and a test can all read. The gate
is a function, not an Airflow operator, so `tailor gate`, the gate DAG and
the tests run exactly the same code.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tailor.config import Settings, get_settings
from tailor.db.connect import connect, database_url
from tailor.quality import definitions
from tailor.quality.record import audience_fingerprint, record_gate_run

DEFAULT_MAX_STALENESS_HOURS = 24.0
# Slot lag (WAL not yet confirmed by capture) above this fails the gate: the
# warehouse is that far behind the shop whatever the clock says.
DEFAULT_MAX_LAG_BYTES = 1024**3


@dataclass
class Check:
    """One expectation's outcome, named so a failure says what to look at."""

    suite: str
    name: str
    passed: bool
    observed: str = ""

    def label(self) -> str:
        return f"{self.suite}: {self.name}"


@dataclass
class GateResult:
    passed: bool
    checks: list[Check]
    data_docs_index: Path
    logical_date: datetime
    max_staleness_hours: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "logical_date": self.logical_date.isoformat(),
            "max_staleness_hours": self.max_staleness_hours,
            "data_docs_index": str(self.data_docs_index),
            "checks": [asdict(check) for check in self.checks],
            "failed": [check.label() for check in self.failed_checks],
        }


class GateError(RuntimeError):
    """The gate could not run at all (as opposed to: it ran and failed)."""


def max_staleness_hours() -> float:
    return _env_number("TAILOR_MAX_STALENESS_HOURS", DEFAULT_MAX_STALENESS_HOURS, "a number of hours; set e.g. 24")


def max_lag_bytes() -> float:
    return _env_number("TAILOR_MAX_LAG_BYTES", DEFAULT_MAX_LAG_BYTES, "a number of bytes; set e.g. 1073741824")


def _env_number(name: str, default: float, expected: str) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise GateError(f"{name}={raw!r} is not {expected}") from exc


def _context(settings: Settings):
    """The GX file context, with the warehouse URL supplied via the environment."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # GX wants an SQLAlchemy URL; postgresql:// means psycopg2, which is installed.
    url = database_url("warehouse", settings).replace("postgres://", "postgresql://", 1)
    os.environ[definitions.URL_VARIABLE] = url

    import great_expectations as gx

    # context_root_dir is the context folder itself, whatever its name
    context = gx.get_context(mode="file", context_root_dir=str(settings.gx_dir))
    definitions.ensure_definitions(context)
    return context


# Expectations whose bounds are fixed in the suite, so they belong in the
# check's name (run-time parameters, like the freshness threshold, do not).
_NAMED_BOUNDS = {"expect_column_values_to_be_between", "expect_table_row_count_to_be_between"}


def _describe(expectation_config: Any) -> str:
    """A stable, readable name for a check (tests and alerts match on it)."""
    if expectation_config.type == "unexpected_rows_expectation":
        return expectation_config.description or expectation_config.type
    kwargs = dict(expectation_config.kwargs)
    column = kwargs.get("column")
    name = expectation_config.type + (f"({column})" if column else "")
    shown = ("min_value", "max_value") if expectation_config.type in _NAMED_BOUNDS else ()
    details = ", ".join(f"{key}={kwargs[key]}" for key in shown if kwargs.get(key) is not None)
    return name + (f" [{details}]" if details else "")


def _unexpected_rows_observed(result: dict[str, Any]) -> str:
    text = f"{result.get('observed_value', '?')} unexpected rows"
    sample = (result.get("details") or {}).get("unexpected_rows")
    return text + (f", e.g. {list(sample)[:3]}" if sample else "")


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return f"observed {result['observed_value']}"
    if "unexpected_count" in result:
        sample = result.get("partial_unexpected_list") or []
        text = f"{result['unexpected_count']} unexpected"
        if sample:
            text += f", e.g. {sample[:3]}"
        return text
    return ""


def run_gate(settings: Settings | None = None, logical_date: datetime | None = None) -> GateResult:
    """Validate the marts and raw freshness as of ``logical_date`` (default: now).

    Never raises because the data is bad: a failing expectation makes
    ``passed`` False and names the check. Raises :class:`GateError` only
    when the gate itself cannot run.
    """
    settings = settings or get_settings()
    logical_date = logical_date or datetime.now(UTC)
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=UTC)
    max_age = max_staleness_hours()
    max_lag = max_lag_bytes()
    min_captured = logical_date - timedelta(hours=max_age)

    context = _context(settings)
    checkpoint = context.checkpoints.get(definitions.CHECKPOINT)
    with connect("warehouse", settings) as conn:
        before = audience_fingerprint(conn)
    try:
        outcome = checkpoint.run(
            expectation_parameters={
                "min_captured_epoch": min_captured.timestamp(),
                "max_lag_bytes": max_lag,
            },
        )
    except Exception as exc:
        raise GateError(
            f"The GX checkpoint '{definitions.CHECKPOINT}' could not run: {exc}. "
            "Is the warehouse up and built ('tailor dbt build')?"
        ) from exc

    checks: list[Check] = []
    for validation in outcome.run_results.values():
        suite = validation.suite_name
        for item in validation.results:
            config = item.expectation_config
            observed = _observed(item.result or {})
            if config.type == "unexpected_rows_expectation":
                observed = _unexpected_rows_observed(item.result or {})
            if item.exception_info and item.exception_info.get("raised_exception"):
                observed = f"error: {item.exception_info.get('exception_message')}"
            if suite == "raw_freshness" and config.type == "expect_column_min_to_be_between":
                observed = _freshness_observed(item.result or {}, logical_date, max_age)
            if suite == "raw_freshness" and config.type == "expect_column_max_to_be_between":
                observed = _lag_observed(item.result or {}, max_lag)
            checks.append(Check(suite=suite, name=_describe(config), passed=bool(item.success), observed=observed))

    index = settings.gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if not index.exists():  # the checkpoint's action updates it; build once when missing
        context.build_data_docs()
    with connect("warehouse", settings) as conn:
        after = audience_fingerprint(conn)
        if after != before:  # rebuilt while we looked: what passed is not what is there
            checks.append(Check(
                suite="email_audience", name="audience unchanged during validation", passed=False,
                observed=f"{before.rows:,} rows before, {after.rows:,} after",
            ))
        passed = bool(outcome.success) and all(check.passed for check in checks)
        record_gate_run(
            conn,
            logical_date=logical_date,
            passed=passed,
            fingerprint=after,
            failed_checks=[f"{c.label()} ({c.observed})" for c in checks if not c.passed],
            data_docs=str(index),
        )
    return GateResult(
        passed=passed,
        checks=checks,
        data_docs_index=index,
        logical_date=logical_date,
        max_staleness_hours=max_age,
    )


def _freshness_observed(result: dict[str, Any], logical_date: datetime, max_age: float) -> str:
    epoch = result.get("observed_value")
    if epoch is None:
        return "nothing captured: no succeeded capture run and no landed changes in raw.cdc_events"
    captured = datetime.fromtimestamp(float(epoch), tz=UTC)
    age_h = (logical_date - captured).total_seconds() / 3600
    return (
        f"raw holds the shop's changes through {captured.isoformat()}, {age_h:.1f} h before "
        f"{logical_date.isoformat()} (max {max_age:g} h)"
    )


def _lag_observed(result: dict[str, Any], max_lag: float) -> str:
    lag = result.get("observed_value")
    if lag is None:
        return "no slot lag recorded"
    return f"capture's slot lag is {float(lag) / 1024**2:,.1f} MB (max {max_lag / 1024**2:,.0f} MB)"
