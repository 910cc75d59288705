"""`tailor collect ...`: the event collector."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `collect` commands to the top-level `tailor` app."""
    from rich.console import Console

    collect = typer.Typer(help="Event collector: Segment-compatible tracking API and ESP webhooks.",
                          no_args_is_help=True)
    app.add_typer(collect, name="collect")
    console = Console()
    err = Console(stderr=True)

    @collect.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 for all)")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8808,
        workers: Annotated[int, typer.Option(help="Worker processes (each with its own writer)")] = 1,
        log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
    ) -> None:
        """Run the collector (uvicorn) until interrupted."""
        from tailor.collect.server import serve as run_server
        from tailor.config import DEV_WRITE_KEY, get_settings
        from tailor.db.connect import NotRunningError, database_url

        settings = get_settings()
        try:
            database_url("shop", settings)
        except NotRunningError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from exc
        if DEV_WRITE_KEY in settings.collect.write_keys.values() and host not in ("127.0.0.1", "localhost"):
            err.print("[yellow]warning:[/] the built-in development write key is enabled on a public "
                      "interface; set TAILOR_COLLECT_WRITE_KEYS")
        sources = ", ".join(sorted(settings.collect.write_keys))
        console.print(f"collector on http://{host}:{port} ({workers} worker(s); sources: {sources}); "
                      f"OpenAPI at /docs, metrics at /metrics, snippet at /tailor.js")
        run_server(host, port, workers, log_level, settings)

    @collect.command("quarantine")
    def quarantine(
        limit: Annotated[int, typer.Option(help="Latest rows to show")] = 20,
    ) -> None:
        """Counts by reason, and the latest quarantined requests/events."""
        from rich.table import Table

        from tailor.db.connect import NotRunningError, connect

        try:
            with connect("shop") as conn:
                counts = conn.execute(
                    "select reason, count(*) from collect_quarantine group by 1 order by 2 desc"
                ).fetchall()
                latest = conn.execute(
                    "select received_at, endpoint, source, reason, detail from collect_quarantine "
                    "order by quarantine_id desc limit %s", (limit,)
                ).fetchall()
        except NotRunningError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(1) from exc
        table = Table(title="quarantined, by reason")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for reason, count in counts:
            table.add_row(reason, f"{count:,}")
        console.print(table)
        recent = Table(title=f"latest {len(latest)}")
        for column in ("received", "endpoint", "source", "reason", "detail"):
            recent.add_column(column)
        for received, endpoint, source, reason, detail in latest:
            recent.add_row(received.strftime("%Y-%m-%d %H:%M:%S"), endpoint, source or "", reason,
                           (detail or "")[:80])
        console.print(recent)
