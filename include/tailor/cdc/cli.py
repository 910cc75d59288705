"""`tailor` sub-commands of the cdc area."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
    from rich.console import Console
    from rich.table import Table

    cdc_app = typer.Typer(
        help="Change data capture: shop -> warehouse.raw (Debezium).", no_args_is_help=True
    )
    app.add_typer(cdc_app, name="cdc")
    console = Console()
    err = Console(stderr=True)

    def fail(message: str) -> None:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    def summary_table(result: Any) -> None:
        from tailor.cdc.slot import lsn_text

        table = Table(title=f"capture run {result.run_id}: {result.status} ({result.stop_reason})")
        table.add_column("table")
        table.add_column("events landed", justify="right")
        for name, count in result.per_table.items():
            table.add_row(name, f"{count:,}")
        table.add_section()
        table.add_row("[bold]total[/]", f"[bold]{result.events_landed:,}[/]")
        table.add_row("duplicates skipped", f"{result.duplicates_skipped:,}")
        table.add_row("tombstones skipped", f"{result.tombstones_skipped:,}")
        console.print(table)
        lag = "-" if result.lag_bytes is None else f"{result.lag_bytes:,} bytes"
        console.print(
            f"LSN {lsn_text(result.first_lsn)} .. {lsn_text(result.last_lsn)} "
            f"(target {lsn_text(result.target_lsn)}), slot lag {lag}, "
            f"{result.duration_s:.1f} s incl. JVM start {result.jvm_start_s or 0:.1f} s "
            f"({result.events_per_s:,.0f} events/s); {result.jvm}"
        )

    @cdc_app.command("capture")
    def capture(
        max_seconds: Annotated[
            float | None,
            typer.Option(help="Stop after this many seconds even if not caught up"),
        ] = 120.0,
        continuous: Annotated[
            bool,
            typer.Option(
                "--continuous", help="Keep streaming until Ctrl-C (ignores --max-seconds)"
            ),
        ] = False,
    ) -> None:
        """Land shop changes in warehouse.raw.cdc_events, until caught up with the source."""
        from tailor.cdc.capture import CaptureBusyError, CaptureError, run_capture
        from tailor.cdc.java import JavaNotFoundError
        from tailor.db.connect import NotRunningError

        with console.status("starting the Debezium engine …") as status:

            def on_progress(line: dict[str, Any]) -> None:
                if line.get("event") == "jvm_started":
                    status.update(f"{line['jvm']} started; connecting to the shop …")
                elif line.get("event") == "progress":
                    status.update(
                        f"{line['phase']}: {line['events_landed']:,} events landed, "
                        f"{line['duplicates_skipped']:,} duplicates ({line['elapsed_s']:.0f} s)"
                    )

            try:
                result = run_capture(
                    max_seconds=None if continuous else max_seconds,
                    until_caught_up=not continuous,
                    progress=on_progress,
                )
            except CaptureError as exc:
                summary_table(exc.result)
                fail(str(exc))
            except (CaptureBusyError, JavaNotFoundError, NotRunningError) as exc:
                fail(str(exc))
        summary_table(result)

    @cdc_app.command("status")
    def status() -> None:
        """Slot lag and retained WAL, last captured position and time, events per table."""
        from datetime import UTC, datetime

        from tailor.cdc.slot import lsn_text
        from tailor.cdc.status import capture_status
        from tailor.db.connect import NotRunningError

        try:
            state = capture_status()
        except NotRunningError as exc:
            fail(str(exc))
            return
        slot, run = state.slot, state.last_run

        def ago(moment: datetime | None) -> str:
            if moment is None:
                return "-"
            seconds = (datetime.now(UTC) - moment).total_seconds()
            return f"{moment:%Y-%m-%d %H:%M:%S %Z} ({seconds:,.0f} s ago)"

        table = Table(show_header=False, box=None)
        table.add_row(
            "[bold]slot[/]",
            slot.slot_name if slot.exists else f"{slot.slot_name} (not created yet)",
        )
        if slot.exists:
            table.add_row("[bold]active[/]", "yes (a capture is running)" if slot.active else "no")
            table.add_row("[bold]confirmed_flush_lsn[/]", lsn_text(slot.confirmed_flush_lsn))
            table.add_row("[bold]current_wal_lsn[/]", lsn_text(slot.current_lsn))
            table.add_row("[bold]slot lag[/]", f"{slot.lag_bytes:,} bytes")
            table.add_row(
                "[bold]retained WAL[/]", f"{slot.retained_bytes:,} bytes (kept by the shop for us)"
            )
        table.add_row("[bold]last captured position[/]", lsn_text(state.last_captured_lsn))
        table.add_row("[bold]captured through[/]", ago(state.captured_through))
        table.add_row(
            "[bold]heartbeat[/]",
            "never written"
            if state.heartbeat_age_s is None
            else f"last written {state.heartbeat_age_s:,.0f} s ago",
        )
        if run is None:
            table.add_row("[bold]last run[/]", "none yet: run 'tailor cdc capture'")
        else:
            details = run.get("details") or {}
            table.add_row(
                "[bold]last run[/]",
                f"#{run['run_id']} {run['status']} at {run['started_at']:%Y-%m-%d %H:%M:%S %Z}, "
                f"{run['events_landed']:,} events landed, {run['duplicates_skipped']:,} duplicates, "
                f"{details.get('duration_s', '?')} s",
            )
            if run.get("error"):
                table.add_row("[bold]error[/]", f"[red]{run['error']}[/]")
        console.print(table)
        events = Table(title="events in raw.cdc_events")
        events.add_column("table")
        events.add_column("events", justify="right")
        events.add_column("newest change (source commit)")
        for entry in state.tables:
            events.add_row(entry.table, f"{entry.events:,}", ago(entry.last_source_ts))
        if not state.tables:
            events.add_row("-", "0", "nothing landed yet")
        console.print(events)

    @cdc_app.command("snapshot")
    def snapshot(
        tables: Annotated[
            list[str], typer.Argument(help="Shop tables to re-read, e.g. orders customers")
        ],
    ) -> None:
        """Re-snapshot tables: signal an incremental snapshot the next capture run performs."""
        from tailor.cdc.resnapshot import UnknownTableError, request_snapshot
        from tailor.db.connect import NotRunningError

        try:
            signal_id = request_snapshot(tables)
        except (UnknownTableError, NotRunningError) as exc:
            fail(str(exc))
            return
        console.print(
            f"requested an incremental snapshot of {', '.join(tables)} (signal {signal_id}); "
            "the next 'tailor cdc capture' re-reads them (rows land as op 'r') and runs until "
            "the snapshot is complete"
        )
