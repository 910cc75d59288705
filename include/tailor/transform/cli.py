"""`tailor` sub-commands of the transform area (dbt, segments)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the top-level `tailor` app."""
