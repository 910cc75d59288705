"""aiosmtpd handlers that misbehave on purpose, for failure-path tests."""

from __future__ import annotations

from typing import Any


class RecordingHandler:
    """Accepts mail, remembers it; rejects listed recipients with 550 and
    answers 451 to the first ``flaky`` attempts for listed recipients."""

    def __init__(self, reject: set[str] | None = None, flaky: dict[str, int] | None = None) -> None:
        self.reject = reject or set()
        self.flaky = dict(flaky or {})
        self.attempts: dict[str, int] = {}
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.attempts[address] = self.attempts.get(address, 0) + 1
        if address in self.reject:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if self.flaky.get(address, 0) > 0:
                self.flaky[address] -= 1
                return "451 4.3.0 temporary failure, try again later"
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _ in self.messages for r in rcpts)
