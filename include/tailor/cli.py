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


# --------------------------------------------------------------------------- bench
@app.command("bench")
def bench(
    name: Annotated[str, typer.Argument(help="Scenario in benchmarks/, e.g. 'seed'")],
    size: Annotated[int | None, typer.Option(help="Scenario size (its own default if omitted)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the figures, as JSON")] = False,
) -> None:
    """Run a benchmark scenario; figures are ratios against a baseline in the same run."""
    from tailor.bench import run_benchmark

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
    from tailor.export import cli as export_cli
    from tailor.quality import cli as quality_cli
    from tailor.source import cli as source_cli
    from tailor.transform import cli as transform_cli

    for module in (source_cli, cdc_cli, transform_cli, quality_cli, export_cli):
        module.register(app)


_register_areas()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
