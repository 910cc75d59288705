"""What an export did, for the CLI table, the Airflow task log and tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ExportSummary:
    """Counts and locations of one export to one destination."""

    destination: str
    campaign: str
    logical_date: str
    dry_run: bool = False
    total: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> rows
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)  # first few, for the reader
    outbox: Path | None = None
    csv_paths: list[Path] = field(default_factory=list)
    duration_s: float = 0.0
    export_run_ids: list[int] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def status(self) -> str:
        """'succeeded' (no failures), 'partial' (some sent, some failed), 'failed' (none sent)."""
        if not self.failed:
            return "succeeded"
        return "partial" if self.sent or self.skipped_total else "failed"

    def note_failure(self, person_id: str, detail: str, keep: int = 20) -> None:
        self.failed += 1
        if len(self.failures) < keep:
            self.failures.append({"person_id": person_id, "detail": detail})

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (Airflow XCom, --json output)."""
        return {
            "destination": self.destination,
            "campaign": self.campaign,
            "logical_date": self.logical_date,
            "dry_run": self.dry_run,
            "status": self.status,
            "total": self.total,
            "sent": self.sent,
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
            "failed": self.failed,
            "failures": list(self.failures),
            "outbox": str(self.outbox) if self.outbox else None,
            "csv_paths": [str(p) for p in self.csv_paths],
            "duration_s": round(self.duration_s, 3),
            "export_run_ids": list(self.export_run_ids),
        }
