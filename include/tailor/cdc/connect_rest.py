"""A small client for the Kafka Connect REST API (``requests`` + ``tenacity``).

Only what ``tailor connectors`` needs, with the behaviour a deployment needs:

* every request has a (connect, read) timeout — a hung worker must not hang
  an Airflow task;
* ``409 Conflict`` (a worker rebalance is in progress; the docs say retry) and
  ``5xx`` / connection errors / timeouts are retried with exponential backoff;
  anything else (400 bad config, 401, 404) is answered at once;
* errors come back as :class:`ConnectError` carrying the HTTP status, Connect's
  ``{"error_code", "message"}`` body and a sentence on what to do next.

Kafka Connect's answers this client relies on (Apache Kafka docs, "Kafka
Connect REST API"; KIP-745 for the restart query parameters):
``PUT /connectors/{name}/config`` -> 201 created / 200 updated;
``GET /connectors/{name}/status`` -> connector and task states, ``trace`` on
FAILED; ``POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true``
-> 202 with the instances to be restarted marked RESTARTING (workers older
than 3.0 ignore the parameters and answer 200/204);
``POST /connectors/{name}/tasks/{id}/restart`` -> 204;
``PUT /connector-plugins/{class}/config/validate`` -> ``error_count`` and
``configs[].value.errors``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger("tailor.cdc.connect_rest")

RETRYABLE_STATUS = frozenset({409, 500, 502, 503, 504})


class ConnectError(RuntimeError):
    """A Kafka Connect request that failed; ``str()`` says what happened and what to do."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: int | None = None,
        connect_message: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.connect_message = connect_message
        # Network trouble (no status) and 409/5xx are worth another try.
        self.retryable = (status is None or status in RETRYABLE_STATUS) if retryable is None else retryable


def _hint(status: int) -> str:
    return {
        400: "the request was rejected as invalid; run 'tailor connectors validate' for details",
        401: "check TAILOR_CONNECT_USER / TAILOR_CONNECT_PASSWORD (or --user/--password)",
        403: "the Connect user may not do this; ask for the permission",
        404: "check the connector name and --url (is this the right Connect cluster?)",
        409: "a worker rebalance was still in progress after the retries; try again in a minute",
    }.get(status, "look at the Kafka Connect worker logs; the retries did not help")


@dataclass
class ConnectClient:
    """Talks to one Kafka Connect cluster (any worker: requests are forwarded to the leader)."""

    url: str
    auth: tuple[str, str] | None = None
    verify: bool | str = True  # False = --insecure, a path = --ca-bundle
    timeout: float = 10.0  # seconds, for connect and for read
    retries: int = 5  # attempts in all, including the first
    backoff: float = 0.5  # first wait; doubles each retry (capped at 8 s)
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.session.auth = self.auth
        self.session.verify = self.verify
        self.session.headers.update({"Accept": "application/json"})

    # ------------------------------------------------------------------ transport
    def _once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        target = f"{self.url}{path}"
        try:
            response = self.session.request(
                method, target, timeout=(self.timeout, self.timeout), **kwargs
            )
        except requests.exceptions.SSLError as exc:
            raise ConnectError(
                f"TLS verification failed for {target}: {exc}. Pass --ca-bundle with the "
                "CA that signed the Connect certificate (or --insecure for a test cluster).",
                retryable=False,  # a certificate does not fix itself
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise ConnectError(
                f"{method} {target} timed out after {self.timeout:g} s; the worker may be "
                "overloaded or rebalancing (raise --timeout, or check the Connect worker)"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise ConnectError(
                f"cannot reach Kafka Connect at {self.url} ({type(exc).__name__}); is it "
                "running, and is --url / TAILOR_CONNECT_URL right?"
            ) from exc
        if response.status_code >= 400:
            raise self._error(method, path, response)
        return response

    def _error(self, method: str, path: str, response: requests.Response) -> ConnectError:
        status = response.status_code
        error_code: int | None = None
        message: str
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "message" in body:
            message = str(body["message"])
            error_code = body.get("error_code")
        else:
            message = response.text.strip()[:500] or response.reason or "no message"
        return ConnectError(
            f"Kafka Connect answered {status} to {method} {path}: {message} — {_hint(status)}",
            status=status,
            error_code=error_code,
            connect_message=message,
        )

    def _note_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = getattr(exc, "status", None)
        why = f"HTTP {status}" if status else "no answer"
        if status == 409:
            why += " (rebalance in progress)"
        wait = state.next_action.sleep if state.next_action else 0.0
        method, path = state.args[0], state.args[1]
        log.warning(
            "%s %s: %s; retry %d of %d in %.1f s",
            method, path, why, state.attempt_number, self.retries - 1, wait,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request, retried on 409 / 5xx / network trouble with exponential backoff."""
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.retries)),
            wait=wait_exponential(multiplier=self.backoff, max=8),
            retry=retry_if_exception(lambda e: isinstance(e, ConnectError) and e.retryable),
            before_sleep=self._note_retry,
            reraise=True,
        )
        return retrying(self._once, method, path, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    # ------------------------------------------------------------------ API
    def server_info(self) -> dict[str, Any]:
        return self._json("GET", "/")

    def connectors(self) -> list[str]:
        return list(self._json("GET", "/connectors"))

    def get_config(self, name: str) -> dict[str, str] | None:
        """The stored config, or ``None`` if there is no such connector."""
        try:
            return self._json("GET", f"/connectors/{quote(name, safe='')}/config")
        except ConnectError as exc:
            if exc.status == 404:
                return None
            raise

    def put_config(self, name: str, config: dict[str, str]) -> tuple[bool, dict[str, Any]]:
        """Create or update; ``(created, connector info)`` from the 201/200 answer."""
        response = self.request("PUT", f"/connectors/{quote(name, safe='')}/config", json=config)
        return response.status_code == 201, response.json()

    def status(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/connectors/{quote(name, safe='')}/status")

    def validate(self, connector_class: str, config: dict[str, str]) -> dict[str, Any]:
        return self._json(
            "PUT", f"/connector-plugins/{quote(connector_class, safe='')}/config/validate",
            json=config,
        )

    def restart_failed(self, name: str) -> requests.Response:
        """KIP-745: restart the connector and tasks that are FAILED, nothing else."""
        return self.request(
            "POST",
            f"/connectors/{quote(name, safe='')}/restart",
            params={"includeTasks": "true", "onlyFailed": "true"},
        )

    def restart_task(self, name: str, task_id: int) -> None:
        self.request("POST", f"/connectors/{quote(name, safe='')}/tasks/{task_id}/restart")


@dataclass(frozen=True)
class FieldError:
    """One validation problem, in the words a person needs."""

    field: str
    value: str | None
    reason: str

    def __str__(self) -> str:
        shown = "(not set)" if self.value in (None, "") else repr(self.value)
        return f"{self.field} = {shown}: {self.reason}"


def field_errors(validation: dict[str, Any]) -> list[FieldError]:
    """The per-field errors of a ``.../config/validate`` answer (Connect or ``--local``)."""
    errors: list[FieldError] = []
    for item in validation.get("configs", []):
        value = item.get("value") or {}
        # Debezium may report the same problem twice for one field: once is enough.
        for reason in dict.fromkeys(value.get("errors") or []):
            errors.append(
                FieldError(
                    field=str(value.get("name") or item.get("definition", {}).get("name")),
                    value=value.get("value"),
                    reason=str(reason),
                )
            )
    return errors


def failed_tasks(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in status.get("tasks", []) if t.get("state") == "FAILED"]


def config_diff(
    current: dict[str, str], wanted: dict[str, str]
) -> dict[str, tuple[str | None, str | None]]:
    """key -> (now, wanted) for every key that differs (added, removed or changed)."""
    keys = sorted(set(current) | set(wanted))
    return {
        k: (current.get(k), wanted.get(k)) for k in keys if current.get(k) != wanted.get(k)
    }
