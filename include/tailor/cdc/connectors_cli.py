"""`tailor connectors ...`: the Kafka Connect tooling."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `connectors` commands to the top-level `tailor` app."""
