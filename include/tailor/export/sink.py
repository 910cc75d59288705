"""The embedded SMTP server: a real aiosmtpd listener that writes ``.eml`` files.

Embedded mode still sends over real SMTP (smtplib -> socket -> aiosmtpd), so
the code path is the one production uses; only the far end differs. Each
message lands as ``<message-id>.eml`` (exactly the bytes received), written
atomically, so a re-delivered message overwrites itself instead of piling up.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def eml_name(content: bytes) -> str:
    """File name for a message: its Message-Id made filesystem-safe, else a content hash."""
    headers = BytesHeaderParser().parsebytes(content)
    raw_id = (headers.get("Message-ID") or "").strip().strip("<>")
    if raw_id:
        return _UNSAFE.sub("_", raw_id)[:200] + ".eml"
    return hashlib.sha256(content).hexdigest()[:32] + ".eml"


class OutboxHandler:
    """aiosmtpd handler: accept every message and write it to ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        # smtplib sends CRLF; .eml files on disk conventionally use the platform's newlines
        content = content.replace(b"\r\n", b"\n")
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / eml_name(content)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".eml")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)
        self.received += 1
        return "250 OK: stored in outbox"


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now (aiosmtpd's readiness probe needs a real one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningSink:
    host: str
    port: int
    outbox: Path
    handler: Any

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@contextmanager
def smtp_server(
    handler: Any, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[tuple[str, int]]:
    """Run an aiosmtpd ``handler`` on ``host:port`` (a free port if None) for the block."""
    attempts = 1 if port else 5
    last_error: Exception | None = None
    for _ in range(attempts):
        chosen = port or free_port(host)
        controller = Controller(
            handler,
            hostname=host,
            port=chosen,
            enable_SMTPUTF8=True,
            data_size_limit=25 * 1024 * 1024,
        )
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:  # port taken between probe and bind
            last_error = exc
            continue
        try:
            yield host, chosen
        finally:
            controller.stop()
        return
    raise RuntimeError(
        f"Could not start the local SMTP sink on {host}:{port or 'a free port'}: {last_error}. "
        "Pick another port with --port, or set TAILOR_SMTP_URL to use a real relay."
    )


@contextmanager
def outbox_sink(
    outbox: Path, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[RunningSink]:
    """A local SMTP server writing every message into ``outbox`` for the block's duration."""
    handler = OutboxHandler(outbox)
    with smtp_server(handler, host, port) as (bound_host, bound_port):
        yield RunningSink(bound_host, bound_port, outbox, handler)
