"""`tailor` sub-commands of the quality area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    err_console = Console(stderr=True)

    @app.command("gate")
    def gate(
        logical_date: Annotated[
            str | None,
            typer.Option(help="Validate as of this ISO-8601 instant (default: now); freshness is measured against it"),
        ] = None,
    ) -> None:
        """Run the quality gate (GX): print each check and the Data Docs path; exit 1 if it fails."""
        from tailor.db.connect import NotRunningError
        from tailor.quality.gate import GateError, run_gate

        when = None
        if logical_date:
            try:
                when = datetime.fromisoformat(logical_date.replace("Z", "+00:00"))
            except ValueError:
                err_console.print(f"[bold red]error:[/] --logical-date {logical_date!r} is not ISO-8601, e.g. 2024-06-30T00:00:00Z")
                raise typer.Exit(2) from None
        try:
            result = run_gate(logical_date=when)
        except (GateError, NotRunningError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from None
        for check in result.checks:
            mark = "[green]PASS[/]" if check.passed else "[bold red]FAIL[/]"
            console.print(f"{mark} {escape(check.label())}  [dim]{escape(check.observed)}[/]")
        verdict = "[bold green]gate passed[/]" if result.passed else "[bold red]gate FAILED[/]"
        console.print(f"{verdict} ({len(result.failed_checks)} of {len(result.checks)} checks failed)")
        console.print(f"Data Docs: {result.data_docs_index}")
        if not result.passed:
            raise typer.Exit(1)
