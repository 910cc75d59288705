"""`tailor enrich ...`: vendor deliveries and weather."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `enrich` commands to the top-level `tailor` app."""
    from rich.console import Console
    from rich.table import Table

    enrich = typer.Typer(help="Third-party enrichment: data-vendor files and weather.", no_args_is_help=True)
    app.add_typer(enrich, name="enrich")
    console = Console()
    err = Console(stderr=True)

    def fail(message: str) -> None:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    @enrich.command("import")
    def import_command(
        file: Annotated[Path, typer.Argument(help="The vendor's CSV or Parquet delivery")],
        vendor: Annotated[str, typer.Option(help="Vendor name; a new file replaces this vendor's previous delivery")],
        key: Annotated[str | None, typer.Option(help="email or email_sha256 (default: detected from column names)")] = None,
        key_column: Annotated[str | None, typer.Option(help="The key's column, if not a usual name")] = None,
        show: Annotated[int, typer.Option(help="Quarantined rows to list")] = 20,
    ) -> None:
        """Load a delivery keyed by email or SHA-256 of the normalised email; reports the match rate."""
        from tailor.db.connect import NotRunningError
        from tailor.enrich.importer import EnrichError, import_delivery

        try:
            summary = import_delivery(file, vendor, key, key_column)
        except (EnrichError, NotRunningError) as exc:
            fail(str(exc))
        if summary.reasons:
            table = Table(title=f"quarantined rows (enrich.import_quarantine, import_id {summary.import_id})")
            table.add_column("row", justify="right")
            table.add_column("reason")
            for number, reason in summary.reasons[:show]:
                table.add_row(str(number), reason)
            if len(summary.reasons) > show:
                table.add_row("…", f"{len(summary.reasons) - show} more")
            console.print(table)
        table = Table(title=f"{summary.vendor}: {file.name} (key: {summary.key_kind}, column '{summary.key_column}')",
                      show_header=False)
        table.add_column(style="bold")
        table.add_column(justify="right")
        rate = "unknown" if summary.match_rate is None else f"{summary.match_rate:.1%}"
        for label, value in (("rows", f"{summary.rows:,}"), ("loaded", f"{summary.loaded:,}"),
                             ("quarantined", f"{summary.quarantined:,}"),
                             ("matched customers", "—" if summary.matched is None else f"{summary.matched:,}"),
                             ("match rate", rate)):
            table.add_row(label, value)
        console.print(table)
        console.print(summary.line())
        if summary.status == "rejected":
            raise typer.Exit(1)

    @enrich.command("weather")
    def weather_command(
        day: Annotated[str | None, typer.Option("--date", help="As-of date, YYYY-MM-DD (default today, UTC)")] = None,
        lookback: Annotated[int, typer.Option(help="Days before --date loaded too")] = 7,
    ) -> None:
        """Load weather for known customers' locations into enrich.weather_observations (upsert)."""
        from datetime import UTC, date, datetime

        from tailor.db.connect import NotRunningError
        from tailor.enrich.weather import WeatherError, load_weather

        try:
            as_of = date.fromisoformat(day) if day else datetime.now(UTC).date()
        except ValueError:
            fail(f"--date '{day}' is not a date like 2026-11-28")
        if lookback < 0:
            fail("--lookback is a number of days, 0 or more")
        try:
            summary = load_weather(as_of, lookback_days=lookback)
        except (WeatherError, NotRunningError) as exc:
            fail(str(exc))
        console.print(summary.line())
