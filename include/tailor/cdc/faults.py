"""Deterministic crash points in the capture worker, for the crash-safety tests.

Why: killing the capture at random moments (the acceptance test) rarely hits
the few milliseconds that matter, so a broken commit order can pass it. These
crash points hit exactly the two instants the "no loss, no duplicate"
guarantee is about:

* ``crash_before_commit:N`` — in the N-th batch that carries rows, after the
  rows *and* the offsets were written but before the landing transaction
  commits: nothing of the batch may survive, and the restart must re-read it;
* ``crash_after_commit:N`` — after that transaction committed but before the
  engine was told the batch is processed (so Debezium's own offset flush and
  the slot confirmation never happen): the restart must resume after the
  batch from ``raw.cdc_offsets`` and land nothing twice.

Set ``TAILOR_CDC_FAULT`` in the environment of ``tailor cdc capture`` (the
worker inherits it). The process ends with ``os._exit(137)`` — the exit code
of a SIGKILL, and like a SIGKILL it runs no cleanup (no rollback sent, no
``finally``, no engine stop). Unset (the normal case), nothing happens.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

ENV_VAR = "TAILOR_CDC_FAULT"
BEFORE_COMMIT = "crash_before_commit"
AFTER_COMMIT = "crash_after_commit"
POINTS = (BEFORE_COMMIT, AFTER_COMMIT)
EXIT_CODE = 137  # 128 + SIGKILL


class FaultSpecError(ValueError):
    """``TAILOR_CDC_FAULT`` is set to something the worker does not understand."""


@dataclass(frozen=True)
class FaultPlan:
    """Where to crash: ``point`` in the ``batch``-th batch with rows (1-based)."""

    point: str | None = None
    batch: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        if not spec:
            return cls()
        point, _, number = spec.strip().partition(":")
        if point not in POINTS or not number.isdigit() or int(number) < 1:
            raise FaultSpecError(
                f"{ENV_VAR}={spec!r} is not understood: expected "
                f"'{BEFORE_COMMIT}:N' or '{AFTER_COMMIT}:N' with N >= 1 (the N-th batch "
                "that lands rows); unset it for a normal capture"
            )
        return cls(point, int(number))

    @classmethod
    def from_env(cls) -> FaultPlan:
        return cls.parse(os.environ.get(ENV_VAR))

    def check(self, point: str, batch: int) -> None:
        """Exit at once, like a SIGKILL, if this is the planned crash point."""
        if self.point == point and self.batch == batch:
            sys.stderr.write(f"{ENV_VAR}: {point} in batch {batch}: exiting with {EXIT_CODE}\n")
            sys.stderr.flush()
            os._exit(EXIT_CODE)
