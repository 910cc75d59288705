"""`tailor` sub-commands of the transform area (dbt, segments)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    err_console = Console(stderr=True)

    def fail(message: str) -> None:
        err_console.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    @app.command(
        "dbt",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def dbt_command(ctx: typer.Context) -> None:
        """Run dbt on Tailor's project against the warehouse: `tailor dbt build`, `tailor dbt run -s staging`."""
        from tailor.db.connect import NotRunningError
        from tailor.transform.dbt import run_dbt

        args = list(ctx.args)
        if not args:
            fail("give a dbt command, e.g. 'tailor dbt build' or 'tailor dbt test --select marts'")
        try:
            result = run_dbt(args)
        except (NotRunningError, ValueError) as exc:
            fail(str(exc))
        console.print(result.summary())
        if not result.success:
            raise typer.Exit(1)

    segments_app = typer.Typer(help="Segments: sizes, members, overlaps.", no_args_is_help=True)
    app.add_typer(segments_app, name="segments")

    @segments_app.command("list")
    def segments_list() -> None:
        """Every segment with its priority, candidate members and assigned people."""
        from tailor.transform.segments import list_segments

        try:
            summaries = list_segments()
        except RuntimeError as exc:
            fail(str(exc))
        table = Table(title="segments (lowest priority number wins)")
        for column in ("segment", "priority", "members", "assigned", "description"):
            table.add_column(column, justify="right" if column in ("priority", "members", "assigned") else "left")
        for s in summaries:
            table.add_row(s.segment, str(s.priority), f"{s.members:,}", f"{s.assigned:,}", s.description)
        console.print(table)

    @segments_app.command("show")
    def segments_show(
        name: Annotated[str, typer.Argument(help="Segment name, e.g. champions")],
        sample: Annotated[int, typer.Option(help="How many members to show")] = 10,
    ) -> None:
        """A segment's definition, size and a sample of members with reasons."""
        from tailor.transform.segments import SegmentNotFound, show_segment

        try:
            detail = show_segment(name, sample=sample)
        except (SegmentNotFound, RuntimeError) as exc:
            fail(str(exc))
        s = detail["summary"]
        console.print(f"[bold]{s.segment}[/] (priority {s.priority}, model {s.model_name}, owner {s.owner or '-'})")
        console.print(s.description)
        weight = detail["average_weight"]
        console.print(
            f"{s.members:,} members, {s.assigned:,} assigned here"
            + (f", average weight {weight:.2f}" if weight is not None else "")
        )
        table = Table(title=f"sample of {s.segment}")
        for column in ("person_id", "first name", "country", "weight", "assigned", "reason"):
            table.add_column(column)
        for m in detail["sample"]:
            table.add_row(m["person_id"], m["first_name"] or "", m["country"] or "", f"{m['weight']:.2f}",
                          "yes" if m["assigned"] else "no", m["reason"])
        console.print(table)

    @segments_app.command("overlap")
    def segments_overlap() -> None:
        """How many people are candidates of both segments, for each pair."""
        from tailor.transform.segments import segment_overlap

        try:
            pairs = segment_overlap()
        except RuntimeError as exc:
            fail(str(exc))
        table = Table(title="segment overlap (memberships)")
        table.add_column("segment a")
        table.add_column("segment b")
        table.add_column("people in both", justify="right")
        for a, b, count in pairs:
            table.add_row(a, b, f"{count:,}")
        if not pairs:
            console.print("no person is in two segments")
            return
        console.print(table)
