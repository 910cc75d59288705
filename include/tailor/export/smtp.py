"""Deliver messages to an SMTP relay with smtplib: TLS, auth, retries.

``TAILOR_SMTP_URL`` says where and how:

* ``smtp://host:25`` — plain (the embedded sink, local relays)
* ``smtp://user:pass@host:587?starttls=true`` — STARTTLS, then AUTH
* ``smtps://user:pass@host:465`` — implicit TLS
* ``?timeout=30`` — socket timeout in seconds

Transient failures (4xx replies, dropped connections, timeouts) are retried
with exponential backoff by tenacity, reconnecting as needed; permanent
failures (5xx) raise :class:`PermanentSendError` at once so the caller can
record that row and go on with the next one.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from tailor.config import redact_url

_TRUE = {"1", "true", "yes", "on"}
T = TypeVar("T")


class SmtpConfigError(ValueError):
    """TAILOR_SMTP_URL cannot be understood."""


class PermanentSendError(RuntimeError):
    """The relay refused the message for good (5xx): do not retry this recipient."""

    def __init__(self, code: int | None, detail: str) -> None:
        super().__init__(f"{code} {detail}" if code else detail)
        self.code = code


class TransientSendError(RuntimeError):
    """A temporary failure (4xx, disconnect, timeout); retrying may help."""

    def __init__(self, code: int | None, detail: str) -> None:
        super().__init__(f"{code} {detail}" if code else detail)
        self.code = code


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def describe(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        tls = "?starttls=true" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse ``smtp://`` / ``smtps://`` URLs (user and password may be %-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpConfigError(
            f"TAILOR_SMTP_URL {redact_url(url)!r} must start with smtp:// or smtps://, "
            "e.g. smtp://user:pass@relay.example:587?starttls=true"
        )
    if not parts.hostname:
        raise SmtpConfigError(f"TAILOR_SMTP_URL {redact_url(url)!r} has no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    implicit_tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "false").lower() in _TRUE
    if implicit_tls and starttls:
        raise SmtpConfigError("Use either smtps:// (implicit TLS) or ?starttls=true, not both")
    try:
        port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise SmtpConfigError(f"TAILOR_SMTP_URL {redact_url(url)!r}: {exc}") from exc
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def classify(exc: BaseException) -> PermanentSendError | TransientSendError | None:
    """Map an smtplib/socket error to permanent (5xx) or transient (4xx, network)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # one recipient per message: take its reply
        code, reply = next(iter(exc.recipients.values()), (None, b""))
        detail = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return _by_code(code, detail)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return _by_code(exc.smtp_code, detail)
    if isinstance(
        exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | TimeoutError
    ):
        return TransientSendError(None, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentSendError(None, f"relay does not support a required feature: {exc}")
    return None


def _by_code(code: int | None, detail: str) -> PermanentSendError | TransientSendError:
    if code is not None and 400 <= code < 500:
        return TransientSendError(code, detail)
    return PermanentSendError(code, detail)


class SmtpSender:
    """One SMTP session reused for many messages, reopened after a failure.

    ``attempts`` and ``backoff_s`` shape the tenacity retry of transient
    errors (waits of backoff_s, 2*backoff_s, ... capped at 30 s).
    """

    def __init__(self, target: SmtpTarget, *, attempts: int = 4, backoff_s: float = 1.0) -> None:
        self.target = target
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._client: smtplib.SMTP | None = None

    # ------------------------------------------------------------ connection
    def _open(self) -> smtplib.SMTP:
        t = self.target
        context = ssl.create_default_context()
        try:
            if t.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=t.timeout, context=context
                )
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            client.ehlo()
            if t.starttls:
                client.starttls(context=context)
                client.ehlo()
            if t.username:
                client.login(t.username, t.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpConfigError(
                f"SMTP relay {t.describe()} rejected the credentials ({exc.smtp_code}). "
                "Check the user and password in TAILOR_SMTP_URL."
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSendError(
                None,
                f"cannot open an SMTP session with {t.describe()}: {type(exc).__name__}: {exc}",
            ) from exc
        return client

    def connect(self) -> None:
        """Open the session now, so a wrong host or password fails before the first row."""
        try:
            self._with_retries(self._ensure)
        except TransientSendError as exc:
            raise ConnectionError(
                f"{exc}. Is the relay reachable? Check TAILOR_SMTP_URL (or unset it to use the local sink)."
            ) from exc

    def _ensure(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                self._client.close()
            self._client = None

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- sending
    def _with_retries(self, fn: Callable[[], T]) -> T:
        # reraise=True: after the last attempt the caller sees the real TransientSendError
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=30),
            retry=retry_if_exception_type(TransientSendError),
            reraise=True,
        )
        return retrying(fn)

    def _send_once(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        client = self._ensure()
        try:
            client.send_message(msg, from_addr=sender, to_addrs=[recipient])
        except (OSError, smtplib.SMTPException) as exc:
            mapped = classify(exc)
            # after any failure the session state is unknown: reset or reconnect
            if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                try:
                    client.rset()
                except (OSError, smtplib.SMTPException):
                    self._drop()
            else:
                self._drop()
            if mapped is None:
                raise PermanentSendError(None, f"{type(exc).__name__}: {exc}") from exc
            raise mapped from exc

    def send(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        """Send one message to one recipient; raises Permanent- or TransientSendError."""
        self._with_retries(lambda: self._send_once(msg, sender, recipient))
