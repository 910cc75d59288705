"""smtplib -> real aiosmtpd server, no database: the sink, retries, permanent rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from export_smtp_handlers import RecordingHandler

from tailor.content.render import RenderedEmail
from tailor.export.message import build_message
from tailor.export.sink import outbox_sink, smtp_server
from tailor.export.smtp import PermanentSendError, SmtpSender, SmtpTarget, TransientSendError

SENDER = "hello@shop.example"


def message(to: str, msg_id: str):  # type: ignore[no-untyped-def]
    rendered = RenderedEmail(
        "Hi", "", "<p>Hi Ünïcode</p>", "Hi Ünïcode\n", "https://shop.example/u?t=1"
    )
    return build_message(
        rendered,
        to=to,
        to_name=None,
        smtp_from=f"Shop <{SENDER}>",
        msg_id=msg_id,
        sent_at=datetime.now(UTC),
    )


def test_sink_writes_each_message_as_eml_named_by_message_id(tmp_path: Path) -> None:
    with (
        outbox_sink(tmp_path / "out") as sink,
        SmtpSender(SmtpTarget(sink.host, sink.port)) as sender,
    ):
        sender.connect()
        sender.send(message("a@example.com", "<m1@shop.example>"), SENDER, "a@example.com")
        sender.send(message("b@example.com", "<m2@shop.example>"), SENDER, "b@example.com")
        sender.send(
            message("a@example.com", "<m1@shop.example>"), SENDER, "a@example.com"
        )  # re-delivery
    files = sorted(p.name for p in (tmp_path / "out").glob("*.eml"))
    assert files == ["m1@shop.example.eml", "m2@shop.example.eml"]
    parsed = message_from_bytes((tmp_path / "out" / files[0]).read_bytes(), policy=default_policy)
    assert parsed["To"] == "a@example.com"
    assert parsed.get_body(("plain",)).get_content() == "Hi Ünïcode\n"


def test_transient_4xx_is_retried_until_accepted() -> None:
    handler = RecordingHandler(flaky={"a@example.com": 2})
    with (
        smtp_server(handler) as (host, port),
        SmtpSender(SmtpTarget(host, port), attempts=4, backoff_s=0.01) as s,
    ):
        s.send(message("a@example.com", "<m1@x>"), SENDER, "a@example.com")
    assert handler.recipients() == ["a@example.com"]
    assert handler.attempts["a@example.com"] == 3


def test_transient_4xx_gives_up_after_the_attempts() -> None:
    handler = RecordingHandler(flaky={"a@example.com": 10})
    with (
        smtp_server(handler) as (host, port),
        SmtpSender(SmtpTarget(host, port), attempts=2, backoff_s=0.01) as s,
    ):
        with pytest.raises(TransientSendError, match="451"):
            s.send(message("a@example.com", "<m1@x>"), SENDER, "a@example.com")
        # the session is still usable for the next recipient
        s.send(message("b@example.com", "<m2@x>"), SENDER, "b@example.com")
    assert handler.attempts["a@example.com"] == 2
    assert handler.recipients() == ["b@example.com"]


def test_permanent_5xx_is_not_retried() -> None:
    handler = RecordingHandler(reject={"gone@example.com"})
    with (
        smtp_server(handler) as (host, port),
        SmtpSender(SmtpTarget(host, port), attempts=4, backoff_s=0.01) as s,
    ):
        with pytest.raises(PermanentSendError, match="550") as info:
            s.send(message("gone@example.com", "<m1@x>"), SENDER, "gone@example.com")
        s.send(message("ok@example.com", "<m2@x>"), SENDER, "ok@example.com")
    assert info.value.code == 550
    assert handler.attempts["gone@example.com"] == 1
    assert handler.recipients() == ["ok@example.com"]


def test_unreachable_relay_fails_fast_with_advice() -> None:
    from tailor.export.sink import free_port

    sender = SmtpSender(SmtpTarget("127.0.0.1", free_port(), timeout=2), attempts=2, backoff_s=0.01)
    with pytest.raises(ConnectionError, match="TAILOR_SMTP_URL"):
        sender.connect()
