"""`tailor identity`: train and run the probabilistic matcher, look at a person's cluster."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add `tailor identity train|resolve|show` to the top-level `tailor` app."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    err_console = Console(stderr=True)
    identity_app = typer.Typer(help="Identity resolution: the matcher and person clusters.", no_args_is_help=True)
    app.add_typer(identity_app, name="identity")

    def fail(message: str) -> None:
        err_console.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(1)

    @identity_app.command("train")
    def train() -> None:
        """Train the Splink model on the current records and store it as the newest version.

        Scoring uses it from the next 'tailor identity resolve' on, which then
        rescores every pair (links from an older model are replaced).
        """
        from tailor.db.connect import NotRunningError
        from tailor.identity.matcher import train_model

        try:
            with console.status("training the identity model"):
                trained = train_model()
        except (NotRunningError, RuntimeError) as exc:
            fail(str(exc))
        console.print(trained.summary())
        console.print("the next 'tailor identity resolve' rescores every pair with it")

    @identity_app.command("resolve")
    def resolve(
        full: Annotated[bool, typer.Option(
            "--full", help="Rescore every pair, not only those touching records changed since the last run")] = False,
        build: Annotated[bool, typer.Option(
            "--build/--no-build", help="Then rebuild the identity models and everything after them")] = False,
    ) -> None:
        """Score customer records with the newest stored Splink model into ml.identity_links."""
        from tailor.db.connect import NotRunningError
        from tailor.identity.matcher import run_matcher

        try:
            with console.status("scoring customer records"):
                result = run_matcher(full=full)
        except (NotRunningError, RuntimeError) as exc:
            fail(str(exc))
        if result.trained is not None:
            console.print(f"no stored model yet: {result.trained.summary()}")
        console.print(result.summary())
        if build:
            from tailor.transform.dbt import run_dbt

            outcome = run_dbt(["build", "--exclude", "staging", "--indirect-selection", "buildable"])
            console.print(outcome.summary())
            if not outcome.success:
                raise typer.Exit(1)
        else:
            console.print("links become person merges at the next 'tailor dbt build'")

    @identity_app.command("show")
    def show(
        person_id: Annotated[str | None, typer.Argument(help="person_id, e.g. p_1042")] = None,
        email: Annotated[str | None, typer.Option("--email", help="find the person by email")] = None,
    ) -> None:
        """A person's customer records, the edges and links joining them, and their id history."""
        from tailor.db.connect import NotRunningError
        from tailor.identity.lookup import find_person

        try:
            cluster = find_person(person_id, email)
        except (NotRunningError, LookupError, ValueError) as exc:
            fail(str(exc))
        console.print(f"[bold]{cluster.person_id}[/]: {len(cluster.customers)} customer record(s)")
        for title, rows in (("customer records", cluster.customers), ("edges", cluster.edges),
                            ("identifiers", cluster.identifiers), ("id history", cluster.history)):
            if not rows:
                continue
            table = Table(title=title)
            for column in rows[0]:
                table.add_column(column)
            for row in rows:
                table.add_row(*("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)
                                for v in row.values()))
            console.print(table)
