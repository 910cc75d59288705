"""`tailor` sub-commands of the source area."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    console = Console()
    err = Console(stderr=True)

    def fail(message: str) -> None:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    @app.command("seed")
    def seed_command(
        customers: Annotated[int, typer.Option(help="Customer records for a fresh seed")] = 10_000,
        days: Annotated[int | None, typer.Option(help="Days of history (fresh, default 180) or to append (incremental, default 1)")] = None,
        seed: Annotated[int, typer.Option(help="Random seed: same seed, same data")] = 42,
        until: Annotated[str | None, typer.Option(help="Fresh history ends at this date, YYYY-MM-DD (default today)")] = None,
    ) -> None:
        """Fill the shop with synthetic customers and activity, or append the next slice."""
        from tailor.db.migrate import migrate
        from tailor.db.service import ensure_database
        from tailor.source.generate import SeedError
        from tailor.source.generate import seed as run_seed

        end = None
        if until:
            try:
                end = datetime.strptime(until, "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                fail(f"--until '{until}' is not a date like 2024-06-30")
        try:
            info = ensure_database()
            migrate("shop")
        except RuntimeError as exc:
            fail(str(exc))
        err.print(f"[dim]database: {info}[/]")
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("seeding", total=1.0)
            try:
                summary = run_seed(customers=customers, days=days, seed=seed, until=end,
                                   progress=lambda message, fraction: bar.update(task, description=message, completed=fraction))
            except (SeedError, ValueError, RuntimeError) as exc:
                fail(str(exc))
        table = Table(title=f"tailor seed: {summary.mode}, {summary.window_start:%Y-%m-%d %H:%M} → {summary.window_end:%Y-%m-%d %H:%M} UTC")
        table.add_column("table")
        for col in ("inserted", "updated", "deleted"):
            table.add_column(col, justify="right")
        names = list(dict.fromkeys([*summary.inserted, *summary.updated, *summary.deleted]))
        for name in names:
            table.add_row(name, *(f"{d.get(name, 0):,}" if name in d else "" for d in (summary.inserted, summary.updated, summary.deleted)))
        table.add_section()
        table.add_row("[bold]total[/]", f"{summary.rows_total:,}", f"{sum(summary.updated.values()):,}", f"{sum(summary.deleted.values()):,}")
        console.print(table)
        console.print(f"{summary.customers:,} new customers in {summary.seconds:.2f} s "
                      f"= [bold]{summary.customers_per_s:,.0f} customers/s[/] (seed {summary.seed})")

    @app.command("import")
    def import_command(
        entity: Annotated[str, typer.Argument(help="customers, orders or events")],
        file: Annotated[Path, typer.Argument(help="CSV or Parquet file")],
        mapping: Annotated[Path | None, typer.Option(help="YAML mapping: columns, date_format, timezone, currency, defaults")] = None,
    ) -> None:
        """Load a CSV/Parquet export; bad rows go to import_quarantine with the reason."""
        from tailor.db.connect import NotRunningError
        from tailor.source.importer import import_file
        from tailor.source.mapping import ENTITIES, MappingError

        if entity not in ENTITIES:
            fail(f"entity is one of {', '.join(ENTITIES)}, not '{entity}'")
        try:
            summary = import_file(entity, file, mapping)
        except (MappingError, NotRunningError) as exc:
            fail(str(exc))
        if summary.unknown_columns:
            err.print(f"[yellow]not loaded (no mapping):[/] {', '.join(summary.unknown_columns)}")
        if summary.reasons:
            table = Table(title=f"quarantined rows (import_id {summary.import_id})")
            table.add_column("row", justify="right")
            table.add_column("reason")
            for number, reason in summary.reasons:
                table.add_row(str(number), reason)
            console.print(table)
        console.print(f"{entity} from {file}: {summary.line()}")
