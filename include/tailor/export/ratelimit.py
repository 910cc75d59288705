"""Pace outgoing messages to ``send_rate_per_s`` with pyrate-limiter.

Relays throttle or block senders that burst; the limiter blocks the caller
until the next send is allowed. Rates of 10/s and more are enforced per
100 ms window (smooth, and cheap on sleeps); slower rates as one message per
interval.
"""

from __future__ import annotations

from pyrate_limiter import Limiter, Rate


class SendRateLimiter:
    """Blocking limiter; ``per_second <= 0`` disables pacing (tests, dry runs)."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._limiter: Limiter | None = None
        if per_second > 0:
            if per_second >= 10:
                rate = Rate(max(1, round(per_second / 10)), 100)
            else:
                rate = Rate(1, max(1, round(1000 / per_second)))
            self._limiter = Limiter(rate, buffer_ms=1)

    def wait(self) -> None:
        """Block until one more message may go out."""
        if self._limiter is not None:
            self._limiter.try_acquire("smtp")

    def close(self) -> None:
        """Stop the limiter's background leak thread."""
        if self._limiter is not None:
            self._limiter.close()
            self._limiter = None

    def __enter__(self) -> SendRateLimiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
