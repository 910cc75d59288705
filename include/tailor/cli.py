"""The ``tailor`` command: one entry point for every component.

Each sub-command is a thin shell around a function in the package, so the
same code runs from the CLI, from Airflow tasks and from tests.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tailor.config import get_settings, redact_url

app = typer.Typer(help="Tailor: micro-targeted email personalization on your warehouse.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded PostgreSQL (source 'shop' + 'warehouse').", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


# ----------------------------------------------------------------------------- db
@db_app.command("up")
def db_up() -> None:
    """Start the embedded PostgreSQL (idempotent) and apply migrations."""
    from tailor.db.migrate import migrate
    from tailor.db.service import ensure_database

    try:
        info = ensure_database()
        applied = [m.name for m in migrate("shop")] + [m.name for m in migrate("warehouse")]
    except RuntimeError as exc:
        fail(str(exc))
    console.print(f"[green]PostgreSQL ready[/] ({info})")
    if applied:
        console.print(f"applied migrations: {', '.join(applied)}")


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded PostgreSQL."""
    from tailor.db.embedded import EmbeddedPostgres

    settings = get_settings()
    if not settings.embedded:
        fail("Tailor points at external databases (TAILOR_*_URL); nothing embedded to stop.")
    stopped = EmbeddedPostgres(settings).down()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Is the database up, where, and how big are the layers."""
    from tailor.db.service import status

    report = status()
    table = Table(show_header=False, box=None)
    for key, value in report.items():
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
    if not report.get("running"):
        raise typer.Exit(1)


@db_app.command("url")
def db_url(
    database: Annotated[str, typer.Argument(help="shop or warehouse")] = "warehouse",
    show_password: Annotated[bool, typer.Option(help="Print the password instead of ***")] = False,
) -> None:
    """Print the connection URL of a database."""
    from tailor.db.connect import NotRunningError, database_url

    if database not in ("shop", "warehouse"):
        fail("database is 'shop' or 'warehouse'")
    try:
        url = database_url(database)  # type: ignore[arg-type]
    except NotRunningError as exc:
        fail(str(exc))
    print(url if show_password else redact_url(url))


# ---------------------------------------------------------------------- run / demo
def _parse_logical_date(value: str | None):
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--logical-date '{value}' is not an ISO date or timestamp (e.g. 2026-11-28 or 2026-11-28T06:00)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print_run(result) -> None:
    style = "green" if result.state == "success" else "red"
    console.print(f"  [{style}]{result.state:>8}[/] {result.dag_id}  ({result.seconds:.1f}s)")
    if result.error:
        console.print(f"           [red]{result.error}[/]\n           log: {result.log_file}")


@app.command("run")
def run(
    dags: Annotated[list[str] | None, typer.Argument(help="DAG ids (default: the whole pipeline)")] = None,
    logical_date: Annotated[str | None, typer.Option(help="Run as of this date (ISO); default now")] = None,
) -> None:
    """Run DAGs locally through Airflow, in dependency order; stops at the first failure."""
    from tailor.db.migrate import migrate
    from tailor.db.service import ensure_database
    from tailor.runner import run_pipeline

    try:
        ensure_database()
        migrate("shop")
        migrate("warehouse")
        results = run_pipeline(
            dags or None,
            _parse_logical_date(logical_date),
            on_start=lambda dag_id: console.print(f"[bold]▶ {dag_id}[/] …"),
            on_done=_print_run,
        )
    except RuntimeError as exc:  # RunError, database and migration errors
        fail(str(exc))
    if any(r.state != "success" for r in results):
        raise typer.Exit(1)


@app.command("demo")
def demo(
    customers: Annotated[int, typer.Option(help="Customers to generate")] = 10_000,
    days: Annotated[
        int | None, typer.Option(help="Days of history (default 180); on an already seeded shop, days to add (default 1)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 42,
) -> None:
    """db up + seed + run every DAG + a summary and an HTML report."""
    from datetime import UTC, datetime

    from tailor.db.migrate import migrate
    from tailor.db.service import ensure_database
    from tailor.demo import summarise
    from tailor.runner import RunError, run_pipeline
    from tailor.source.generate import seed as generate

    settings = get_settings()
    console.rule("[bold]Tailor demo")
    try:
        console.print(f"[bold]database[/]: {ensure_database(settings)}")
        migrate("shop", settings)
        migrate("warehouse", settings)
    except RuntimeError as exc:
        fail(str(exc))
    with console.status("seeding the shop …"):
        seeded = generate(settings, customers=customers, days=days, seed=seed)
    console.print(f"[bold]seed[/]: {seeded.describe()}")
    logical_date = datetime.now(UTC).replace(microsecond=0)
    try:
        runs = run_pipeline(
            logical_date=logical_date,
            settings=settings,
            on_start=lambda dag_id: console.print(f"[bold]▶ {dag_id}[/] …"),
            on_done=_print_run,
        )
    except RunError as exc:
        fail(str(exc))
    summary = summarise(logical_date, seeded.as_dict(), runs, settings)
    _print_demo_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _print_demo_summary(summary) -> None:
    console.rule("[bold]Summary")
    layers = Table(title="rows per layer")
    for column in ("layer", "table", "rows"):
        layers.add_column(column, justify="right" if column == "rows" else "left")
    for layer, tables in summary.layers.items():
        for i, (table, rows) in enumerate(tables.items()):
            layers.add_row(layer if i == 0 else "", table, "—" if rows is None else f"{rows:,}")
    console.print(layers)
    if summary.segments:
        segments = Table(title="segments")
        for column in ("segment", "candidates", "assigned", "emailable"):
            segments.add_column(column, justify="left" if column == "segment" else "right")
        for s in summary.segments:
            segments.add_row(s["segment"], f"{s['members']:,}", f"{s['assigned']:,}", f"{s['audience']:,}")
        console.print(segments)
    gate = next((r for r in summary.runs if r.dag_id == "tailor_quality_gate"), None)
    gate_text = "not reached" if gate is None else ("[green]passed[/]" if gate.state == "success" else "[red]failed[/]")
    console.print(f"[bold]quality gate[/]: {gate_text}")
    console.print(f"[bold]emails[/]: {len(summary.emails):,} .eml files in {summary.outbox}")
    console.print(f"[bold]audience CSVs[/]: {summary.csv_dir}")
    if summary.data_docs:
        console.print(f"[bold]quality report (Data Docs)[/]: {summary.data_docs}")
    console.print(f"[bold]demo report[/]: {summary.report}")
    console.print("next: [italic]tailor seed && tailor run[/] adds a day of activity and flows it through incrementally")


@app.command(
    "airflow",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def airflow(ctx: typer.Context) -> None:
    """Run the airflow CLI with Tailor's environment (e.g. 'tailor airflow standalone' for the UI)."""
    import os
    import subprocess

    from tailor.db.connect import NotRunningError
    from tailor.runner import airflow_bin, airflow_env, ensure_airflow_db

    try:
        env = airflow_env()
        ensure_airflow_db()
    except NotRunningError as exc:
        fail(str(exc))
    if not ctx.args:
        console.print("usage: tailor airflow ARGS…  e.g. 'tailor airflow standalone', 'tailor airflow dags list'")
        raise typer.Exit(2)
    os.environ.update(env)
    raise typer.Exit(subprocess.call([airflow_bin(), *ctx.args], env=env))


@app.command("doctor")
def doctor() -> None:
    """Check Python, Java, PostgreSQL and the pinned components; say how to fix what is missing."""
    from tailor.doctor import run_checks

    checks = run_checks()
    table = Table(title="tailor doctor")
    for column in ("check", "status", "found", "fix"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "[green]ok[/]" if check.ok else "[red]missing[/]", check.detail, check.fix)
    console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- bench
@app.command("bench")
def bench(
    name: Annotated[str, typer.Argument(help="Scenario in benchmarks/, e.g. 'seed'")],
    size: Annotated[int | None, typer.Option(help="Scenario size (its own default if omitted)")] = None,
    customers: Annotated[
        int | None, typer.Option(help="Same as --size, for scenarios sized in customers (seed, identity, pipeline)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the figures, as JSON")] = False,
) -> None:
    """Run a benchmark scenario; figures are ratios against a baseline in the same run."""
    from tailor.bench import run_benchmark

    if size is not None and customers is not None and size != customers:
        fail(f"--size {size} and --customers {customers} disagree: give one of them.")
    size = size if size is not None else customers

    def progress(message: str) -> None:
        err_console.print(f"[dim]{message}[/]")

    try:
        figures = run_benchmark(name, size, progress)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(figures))
        return
    table = Table(title=f"bench {name}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    console.print(table)


# Each area adds its own commands (keeps this file free of area logic).
def _register_areas() -> None:
    from tailor.cdc import cli as cdc_cli
    from tailor.cdc import connectors_cli
    from tailor.collect import cli as collect_cli
    from tailor.enrich import cli as enrich_cli
    from tailor.export import cli as export_cli
    from tailor.identity import cli as identity_cli
    from tailor.quality import cli as quality_cli
    from tailor.source import cli as source_cli
    from tailor.transform import cli as transform_cli

    for module in (source_cli, collect_cli, cdc_cli, connectors_cli, transform_cli, identity_cli, quality_cli,
                   export_cli, enrich_cli):
        module.register(app)


_register_areas()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
