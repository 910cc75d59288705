"""`tailor` sub-commands of the export area."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
    console = Console()
    err = Console(stderr=True)

    def fail(message: str) -> None:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    def parse_day(value: str | None) -> date:
        if not value:
            return datetime.now(UTC).date()
        try:
            return date.fromisoformat(value)
        except ValueError:
            fail(f"--logical-date {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-05-06")
            raise  # unreachable: fail() exits

    @app.command("export")
    def export(
        destination: Annotated[str, typer.Option(help="smtp, csv or all")] = "all",
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check consent and render, send/write nothing")
        ] = False,
        logical_date: Annotated[
            str | None, typer.Option(help="YYYY-MM-DD; names the send (default: today, UTC)")
        ] = None,
        campaign: Annotated[
            str, typer.Option(help="Campaign in include/templates/campaigns/")
        ] = "weekly",
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the summaries as JSON")
        ] = False,
    ) -> None:
        """Export the email audience: CSV files and/or personalized emails over SMTP."""
        import json

        from tailor.config import get_settings, redact_url
        from tailor.export.run import DESTINATIONS, run_export

        if destination not in DESTINATIONS:
            fail(f"--destination {destination!r}: choose one of {', '.join(DESTINATIONS)}")
        day = parse_day(logical_date)
        settings = get_settings()
        relay = (
            redact_url(settings.smtp_url)
            if settings.smtp_url
            else f"local sink -> {settings.outbox_dir / str(day)}"
        )
        if destination != "csv" and not as_json:
            err.print(f"[dim]SMTP: {relay}; rate {settings.send_rate_per_s:g}/s[/]")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=as_json,
            disable=as_json,
        ) as bar:
            tasks: dict[str, int] = {}

            def on_progress(dest: str, done: int, total: int) -> None:
                if dest not in tasks:
                    tasks[dest] = bar.add_task(
                        f"{dest}{' (dry run)' if dry_run else ''}", total=total
                    )
                bar.update(tasks[dest], completed=done, total=total)

            try:
                summaries = run_export(settings, day, destination, campaign, dry_run, on_progress)
            except Exception as exc:  # every export error carries its own advice
                fail(f"{type(exc).__name__}: {exc}")
                return
        if as_json:
            print(json.dumps([s.as_dict() for s in summaries], indent=2))
            return
        for s in summaries:
            verb = (
                "would send"
                if s.dry_run and s.destination == "smtp"
                else "sent"
                if s.destination == "smtp"
                else "written"
            )
            table = Table(
                title=f"{s.destination} · {s.campaign} · {s.logical_date}{' · DRY RUN' if s.dry_run else ''}",
                show_header=False,
            )
            table.add_row(
                "status",
                {"succeeded": "[green]succeeded[/]", "partial": "[yellow]partial[/]"}.get(
                    s.status, "[red]failed[/]"
                ),
            )
            table.add_row("audience rows", str(s.total))
            table.add_row(verb, str(s.sent))
            for reason, count in sorted(s.skipped.items()):
                table.add_row(f"skipped: {reason}", str(count))
            table.add_row("failed", f"[red]{s.failed}[/]" if s.failed else "0")
            if s.outbox:
                table.add_row("outbox", str(s.outbox))
            if s.csv_paths:
                table.add_row("files", f"{len(s.csv_paths)} in {s.csv_paths[0].parent}")
            table.add_row("duration", f"{s.duration_s:.1f} s")
            console.print(table)
            for failure in s.failures[:5]:
                console.print(f"  [red]✗[/] {failure['person_id']}: {failure['detail']}")
        if any(s.status == "failed" for s in summaries):
            raise typer.Exit(1)

    @app.command("preview")
    def preview(
        person: Annotated[str, typer.Option("--person", help="person_id from the audience")],
        out: Annotated[
            Path | None, typer.Option("--out", help="Write the HTML part to this file")
        ] = None,
        campaign: Annotated[
            str, typer.Option(help="Campaign in include/templates/campaigns/")
        ] = "weekly",
    ) -> None:
        """Render one person's email; print the text part, or write the HTML with --out."""
        from tailor.config import get_settings
        from tailor.content.render import TemplateRenderError, render_email
        from tailor.export.audience import find_person

        settings = get_settings()
        try:
            row = find_person(settings, person)
        except Exception as exc:  # database down, mart missing: the message says what to do
            fail(f"{type(exc).__name__}: {exc}")
            return
        if row is None:
            fail(
                f"person {person!r} is not in marts.sync_email__audience (not consenting, no valid "
                "email, or not built yet). 'tailor segments show NAME' lists who is in."
            )
            return
        try:
            rendered = render_email(row, campaign, templates_dir=settings.templates_dir)
        except (TemplateRenderError, ValueError) as exc:
            fail(str(exc))
            return
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(rendered.html, encoding="utf-8")
            console.print(f"[green]wrote[/] {out}  (subject: {rendered.subject!r})")
            return
        console.print(f"[bold]Subject:[/] {rendered.subject}")
        console.print(f"[bold]Preheader:[/] {rendered.preheader}")
        console.print(f"[bold]Segment:[/] {row['segment']}\n")
        console.print(rendered.text, markup=False, highlight=False)

    smtp_app = typer.Typer(
        help="The local SMTP sink (embedded mode's mail server).", no_args_is_help=True
    )
    app.add_typer(smtp_app, name="smtp")

    @smtp_app.command("serve")
    def serve(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8025,
        outbox: Annotated[
            Path | None,
            typer.Option(help="Folder for .eml files (default: <TAILOR_HOME>/outbox/inbox)"),
        ] = None,
        host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    ) -> None:
        """Run the SMTP sink in the foreground: every message received becomes an .eml file."""
        import time

        from tailor.config import get_settings
        from tailor.export.sink import outbox_sink

        folder = outbox or get_settings().outbox_dir / "inbox"
        try:
            with outbox_sink(folder, host, port) as sink:
                console.print(
                    f"[green]SMTP sink listening[/] on {sink.host}:{sink.port}, writing to {folder}"
                )
                console.print(
                    f"point tools at it with TAILOR_SMTP_URL={sink.url}  (Ctrl-C to stop)"
                )
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
                console.print(f"stopped; {sink.handler.received} message(s) received")
        except RuntimeError as exc:
            fail(str(exc))
