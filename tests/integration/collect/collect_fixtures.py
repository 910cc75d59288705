"""Helpers for the collector's integration tests: a real server on a free port."""

from __future__ import annotations

import base64
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tailor.collect.app import create_app
from tailor.config import CollectSettings, Settings

WRITE_KEY = "test-write-key"
WEBHOOK_SECRET = "test-webhook-secret"
SENDGRID_PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = base64.b64encode(SENDGRID_PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def collector_settings(settings: Settings, **overrides) -> Settings:
    """``settings`` with the test write key and webhook credentials."""
    collect = CollectSettings(write_keys={"test": WRITE_KEY}, sendgrid_public_key=SENDGRID_PUBLIC_KEY,
                              webhook_secret=WEBHOOK_SECRET, **overrides)
    return dataclasses.replace(settings, collect=collect)


@contextmanager
def running_collector(settings: Settings) -> Iterator[str]:
    """uvicorn serving the collector in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the collector did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def sendgrid_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Headers SendGrid's signed Event Webhook sends with ``body``."""
    stamp = timestamp or str(int(time.time()))
    signature = SENDGRID_PRIVATE_KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


def auth() -> tuple[str, str]:
    return (WRITE_KEY, "")
