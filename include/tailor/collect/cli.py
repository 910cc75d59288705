"""`tailor collect ...`: the event collector."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `collect` commands to the top-level `tailor` app."""
