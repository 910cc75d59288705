"""One entry point for the export DAG and the CLI: run the chosen destinations in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tailor.config import Settings
from tailor.export.summary import ExportSummary

DESTINATIONS = ("smtp", "csv", "all")


def run_export(
    settings: Settings,
    logical_date: date,
    destination: str = "all",
    campaign: str = "weekly",
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[ExportSummary]:
    """Run the CSV and/or SMTP destination for ``logical_date``, one summary each.

    ``progress(destination, done, total)`` lets a caller draw one bar per destination.
    """
    if destination not in DESTINATIONS:
        raise ValueError(
            f"Unknown destination {destination!r}: choose one of {', '.join(DESTINATIONS)}"
        )
    from tailor.export.csvfile import export_csv
    from tailor.export.send import send_campaign

    def for_dest(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress else None

    summaries = []
    if destination in ("csv", "all"):
        summaries.append(export_csv(settings, logical_date, campaign, dry_run, for_dest("csv")))
    if destination in ("smtp", "all"):
        summaries.append(send_campaign(settings, logical_date, campaign, dry_run, for_dest("smtp")))
    return summaries
