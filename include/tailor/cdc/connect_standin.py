"""A stand-in Kafka Connect worker: a real HTTP server with Connect's REST contract.

Kafka Connect cannot run where Tailor's tests run (no Kafka, no Docker), so
``tailor connectors`` is tested against this: a small ``http.server`` on
127.0.0.1 that answers the part of the REST API Tailor uses, with the status
codes, bodies and limits Apache Kafka documents, for the one plugin Tailor
deploys (Debezium's ``PostgresConnector``):

* ``GET /``, ``GET /connectors`` (``?expand=status``), ``GET /connector-plugins``;
* ``PUT /connectors/{name}/config`` — 201 when it creates, 200 when it
  updates; the config is validated first (400 listing the errors, as Connect
  does); ``name`` must match the URL (400) and is added to the stored config;
* ``GET /connectors/{name}``, ``.../config``, ``.../status`` (``trace`` on a
  FAILED connector or task), ``DELETE /connectors/{name}`` (204);
* ``POST /connectors/{name}/restart`` — without parameters 204 (connector
  only); with ``includeTasks``/``onlyFailed`` (KIP-745) 202 and the status
  body with RESTARTING on every instance being restarted;
* ``POST /connectors/{name}/tasks/{id}/restart`` — 204;
* ``PUT /connector-plugins/{class}/config/validate`` — ``error_count`` and
  ``configs[].value.errors``, messages worded as Debezium/Connect word them
  (``The 'slot.name' value is invalid: ...``); 400 if the class in the path
  and in the body differ; PASSWORD values shown as ``[hidden]``;
* errors as ``{"error_code": <status>, "message": ...}``: 404 unknown
  connector/task, 409 "rebalance in progress", 405, 400 bad JSON; with basic
  auth configured, 401 with Connect's plain-text body.

Validation mirrors the Debezium rules that matter to Tailor: required fields,
``slot.name`` (lower-case letters, digits, underscores, <= 63), enum values,
integer fields and their bounds, and — given ``shop_dsn`` — that every
``table.include.list`` entry matches a real table of that database (a check
``validate --local`` also makes; Debezium itself would silently capture nothing).

Fault injection, for the client's retry and reporting paths: :meth:`inject`
(the next N matching requests answer 409 / 5xx), :meth:`slow` (delay
responses), :meth:`fail_task` / :meth:`fail_connector` (FAILED with a trace).
:attr:`restarts` counts what was restarted.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

POSTGRES_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector"
KAFKA_VERSION = "4.3.0"
REBALANCE_MESSAGE = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
UNAUTHORIZED_BODY = "User cannot access the resource."
JSON = "application/json"
DEFAULT_TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change "
    "event producer. This connector will be stopped.\n"
    "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    "Caused by: org.postgresql.util.PSQLException: ERROR: replication slot \"tailor_slot\" "
    "is active for PID 4242\n"
)

SLOT_NAME_RE = re.compile(r"[a-z0-9_]{1,63}")
REQUIRED = ("database.hostname", "database.user", "database.dbname", "topic.prefix")
# field -> (minimum or None, message when below it)
INTEGERS: dict[str, tuple[int | None, str]] = {
    "database.port": (None, ""),
    "heartbeat.interval.ms": (0, "An non-negative integer is expected"),
    "max.batch.size": (1, "A positive, non-zero integer value is expected"),
    "max.queue.size": (1, "A positive, non-zero integer value is expected"),
    "poll.interval.ms": (1, "A positive, non-zero integer value is expected"),
    "status.update.interval.ms": (0, "An non-negative integer is expected"),
}
ENUMS: dict[str, tuple[str, ...]] = {
    "plugin.name": ("decoderbufs", "pgoutput"),
    "snapshot.mode": (
        "always", "initial_only", "configuration_based", "when_needed", "initial", "custom",
        "no_data",
    ),
    "decimal.handling.mode": ("string", "double", "precise"),
    "time.precision.mode": (
        "adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds",
        "nanoseconds",
    ),
    "publication.autocreate.mode": ("all_tables", "disabled", "filtered", "no_tables"),
    "binary.handling.mode": ("bytes", "base64", "base64-url-safe", "hex"),
    "interval.handling.mode": ("numeric", "string"),
}
PASSWORDS = frozenset({"database.password", "database.sslpassword"})


def _invalid(name: str, reason: str) -> str:
    """Debezium's wording for a field problem."""
    return f"The '{name}' value is invalid: {reason}"


def _existing_tables(dsn: str) -> list[str]:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    return [r[0] for r in rows]


def validate_postgres_config(config: dict[str, str], shop_dsn: str | None = None) -> dict[str, Any]:
    """Connect's validate answer for a Debezium Postgres config (see the module docstring)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not config.get("connector.class"):
        add("connector.class", "Missing required configuration \"connector.class\" which has no default value.")
    tasks_max = config.get("tasks.max", "1")
    if not re.fullmatch(r"-?\d+", tasks_max.strip()):
        add("tasks.max", f"Invalid value {tasks_max} for configuration tasks.max: Not a number of type INT")
    elif int(tasks_max) < 1:
        add("tasks.max", f"Invalid value {tasks_max} for configuration tasks.max: Value must be at least 1")
    for name in REQUIRED:
        if not config.get(name, "").strip():
            add(name, _invalid(name, "A value is required"))
    for name, (minimum, below) in INTEGERS.items():
        value = config.get(name)
        if value is None:
            continue
        if not re.fullmatch(r"-?\d+", value.strip()):
            add(name, _invalid(name, "An integer is expected"))
        elif minimum is not None and int(value) < minimum:
            add(name, _invalid(name, below))
    for name, allowed in ENUMS.items():
        value = config.get(name)
        if value is not None and value.lower() not in allowed:
            add(name, _invalid(name, "Value must be one of " + ", ".join(allowed)))
    slot = config.get("slot.name")
    if slot is not None and not SLOT_NAME_RE.fullmatch(slot):
        add(
            "slot.name",
            _invalid(
                "slot.name",
                "Valid replication slot name must contain only digits, lowercase characters "
                "and underscores with length <= 63",
            ),
        )
    include = config.get("table.include.list", "")
    if include and shop_dsn:
        try:
            tables = _existing_tables(shop_dsn)
        except Exception as exc:
            add("database.hostname", f"Error while validating connector config: {exc}")
        else:
            for entry in (e.strip() for e in include.split(",")):
                if entry and not any(re.fullmatch(entry, t, re.IGNORECASE) for t in tables):
                    add(
                        "table.include.list",
                        f"no table in database '{config.get('database.dbname')}' "
                        f"matches '{entry}'",
                    )

    names = sorted(
        set(config) | set(REQUIRED) | set(INTEGERS) | set(ENUMS)
        | {"connector.class", "tasks.max", "slot.name", "table.include.list"}
    )
    configs = []
    for name in names:
        value = config.get(name)
        shown = "[hidden]" if name in PASSWORDS and value is not None else value
        configs.append(
            {
                "definition": {"name": name, "required": name in REQUIRED},
                "value": {
                    "name": name,
                    "value": shown,
                    "recommended_values": list(ENUMS.get(name, ())),
                    "errors": errors.get(name, []),
                    "visible": True,
                },
            }
        )
    return {
        "name": POSTGRES_CONNECTOR,
        "error_count": sum(len(e) for e in errors.values()),
        "groups": ["Common", "Transforms", "Predicates", "Error Handling", "Postgres"],
        "configs": configs,
    }


@dataclass
class Fault:
    """The next ``times`` requests matching ``methods``/``path`` answer ``status``."""

    status: int
    times: int
    methods: frozenset[str]
    path: str  # a prefix of the request path; "" = any
    message: str


@dataclass
class _Task:
    state: str = "RUNNING"
    trace: str | None = None


@dataclass
class _Connector:
    config: dict[str, str]
    state: str = "RUNNING"
    trace: str | None = None
    tasks: list[_Task] = field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectStandIn:
    """One stand-in worker; use as a context manager (starts on a free port, stops after)."""

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        shop_dsn: str | None = None,
    ) -> None:
        self.user = user
        self.password = password
        self.shop_dsn = shop_dsn
        self.connectors: dict[str, _Connector] = {}
        self.faults: list[Fault] = []
        self.delay_s = 0.0
        self.delay_times = 0
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) per request
        self.restarts: Counter[tuple[str, int | None]] = Counter()  # (connector, task|None)
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> ConnectStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="connect-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ConnectStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def worker_id(self) -> str:
        return self.url.removeprefix("http://")

    # ---------------------------------------------------------------- faults
    def inject(
        self,
        status: int,
        times: int = 1,
        *,
        methods: tuple[str, ...] | None = None,
        path: str = "",
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (409, 500, 503 ...).

        A 409 hits, by default, only the requests Connect documents it for: those
        that change something and so must reach the leader (PUT, POST, DELETE).
        """
        if methods is None:
            methods = ("PUT", "POST", "DELETE") if status == 409 else ("GET", "PUT", "POST", "DELETE")
        if message is None:
            message = REBALANCE_MESSAGE if status == 409 else "Request processing failed"
        with self.lock:
            self.faults.append(Fault(status, times, frozenset(methods), path, message))

    def slow(self, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` responses by ``seconds`` (a worker under load)."""
        with self.lock:
            self.delay_s, self.delay_times = seconds, times

    def fail_task(self, name: str, task_id: int = 0, trace: str = DEFAULT_TRACE) -> None:
        with self.lock:
            task = self.connectors[name].tasks[task_id]
            task.state, task.trace = "FAILED", trace

    def fail_connector(self, name: str, trace: str = DEFAULT_TRACE) -> None:
        with self.lock:
            connector = self.connectors[name]
            connector.state, connector.trace = "FAILED", trace

    def add_tasks(self, name: str, count: int) -> None:
        """More RUNNING tasks (Debezium Postgres runs one; a test may want a mix)."""
        with self.lock:
            self.connectors[name].tasks.extend(_Task() for _ in range(count))

    # ---------------------------------------------------------------- dispatch
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and method in fault.methods and path.startswith(fault.path):
                    fault.times -= 1
                    return fault
        return None

    def _take_delay(self) -> float:
        with self.lock:
            if self.delay_times > 0:
                self.delay_times -= 1
                return self.delay_s
        return 0.0

    def _authorized(self, header: str | None) -> bool:
        if self.user is None:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.user and password == self.password

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        with self.lock:
            if parts == []:
                if method != "GET":
                    raise ApiError(405, "HTTP 405 Method Not Allowed")
                return 200, {"version": KAFKA_VERSION, "commit": "standin", "kafka_cluster_id": "standin"}
            if parts == ["connectors"]:
                if method != "GET":
                    raise ApiError(405, "HTTP 405 Method Not Allowed")
                if "status" in query.get("expand", []):
                    return 200, {n: {"status": self._status(n)} for n in sorted(self.connectors)}
                return 200, sorted(self.connectors)
            if parts == ["connector-plugins"] and method == "GET":
                return 200, [{"class": POSTGRES_CONNECTOR, "type": "source", "version": "3.6.3.Final"}]
            if len(parts) == 4 and parts[0] == "connector-plugins" and parts[2:] == ["config", "validate"]:
                if method != "PUT":
                    raise ApiError(405, "HTTP 405 Method Not Allowed")
                return 200, self._validate(parts[1], self._config_body(body))
            if parts[:1] == ["connectors"] and len(parts) >= 2:
                return self._connector_route(method, parts[1], parts[2:], query, body)
        raise ApiError(404, "HTTP 404 Not Found")

    @staticmethod
    def _config_body(body: Any) -> dict[str, str]:
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object of configuration properties")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}

    def _validate(self, plugin: str, config: dict[str, str]) -> dict[str, Any]:
        included = config.get("connector.class")
        if included is not None and not included.endswith(plugin.rsplit(".", 1)[-1]):
            raise ApiError(
                400, f"Included connector type {included} does not match request type {plugin}"
            )
        cls = included or plugin
        if not cls.endswith("PostgresConnector"):  # the one plugin this worker has
            raise ApiError(
                500,
                "Failed to find any class that implements Connector and which name matches "
                f"{cls}, available connectors are: PluginDesc{{klass=class {POSTGRES_CONNECTOR}, "
                "name='" + POSTGRES_CONNECTOR + "', version='3.6.3.Final', type=source}",
            )
        return validate_postgres_config(config, self.shop_dsn)

    def _get(self, name: str) -> _Connector:
        connector = self.connectors.get(name)
        if connector is None:
            raise ApiError(404, f"Connector {name} not found")
        return connector

    def _status(self, name: str) -> dict[str, Any]:
        c = self._get(name)
        connector: dict[str, Any] = {"state": c.state, "worker_id": self.worker_id}
        if c.trace and c.state == "FAILED":
            connector["trace"] = c.trace
        tasks = []
        for i, t in enumerate(c.tasks):
            task: dict[str, Any] = {"id": i, "state": t.state, "worker_id": self.worker_id}
            if t.trace and t.state == "FAILED":
                task["trace"] = t.trace
            tasks.append(task)
        return {"name": name, "connector": connector, "tasks": tasks, "type": "source"}

    def _info(self, name: str) -> dict[str, Any]:
        c = self._get(name)
        return {
            "name": name,
            "config": dict(c.config),
            "tasks": [{"connector": name, "task": i} for i in range(len(c.tasks))],
            "type": "source",
        }

    def _connector_route(
        self, method: str, name: str, rest: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if rest == [] and method == "GET":
            return 200, self._info(name)
        if rest == [] and method == "DELETE":
            self._get(name)
            del self.connectors[name]
            return 204, None
        if rest == ["config"] and method == "GET":
            return 200, dict(self._get(name).config)
        if rest == ["config"] and method == "PUT":
            return self._put_config(name, self._config_body(body))
        if rest == ["status"] and method == "GET":
            return 200, self._status(name)
        if rest == ["restart"] and method == "POST":
            return self._restart(name, query)
        if len(rest) == 3 and rest[0] == "tasks" and rest[2] == "restart" and method == "POST":
            connector = self._get(name)
            try:
                task = connector.tasks[int(rest[1])]
            except (ValueError, IndexError):
                raise ApiError(404, f"Task {name}-{rest[1]} not found") from None
            task.state, task.trace = "RUNNING", None
            self.restarts[(name, int(rest[1]))] += 1
            return 204, None
        if rest and rest[0] in ("config", "status", "restart", "tasks"):
            raise ApiError(405, "HTTP 405 Method Not Allowed")
        raise ApiError(404, "HTTP 404 Not Found")

    def _put_config(self, name: str, config: dict[str, str]) -> tuple[int, Any]:
        if "name" in config and config["name"] != name:
            raise ApiError(
                400,
                f"Connector name configuration ({config['name']}) doesn't match connector "
                f"name in the URL ({name})",
            )
        config = {**config, "name": name}
        cls = config.get("connector.class", "")
        answer = self._validate(cls or POSTGRES_CONNECTOR, config)
        if answer["error_count"]:
            lines = [
                f"{c['value']['name']}: {e}"
                for c in answer["configs"]
                for e in c["value"]["errors"]
            ]
            raise ApiError(
                400,
                f"Connector configuration is invalid and contains the following "
                f"{answer['error_count']} error(s):\n" + "\n".join(lines) + "\n"
                "You can also find the above list of errors at the endpoint "
                "`/connector-plugins/{connectorType}/config/validate`",
            )
        existing = self.connectors.get(name)
        if existing is None:
            self.connectors[name] = _Connector(config=config, tasks=[_Task()])
            return 201, self._info(name)
        if existing.config != config:  # Connect restarts the connector on a new config
            existing.config = config
            existing.state, existing.trace = "RUNNING", None
        return 200, self._info(name)

    def _restart(self, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        connector = self._get(name)
        include_tasks = query.get("includeTasks", ["false"])[0].lower() == "true"
        only_failed = query.get("onlyFailed", ["false"])[0].lower() == "true"
        if not include_tasks and not only_failed:
            connector.state, connector.trace = "RUNNING", None
            self.restarts[(name, None)] += 1
            return 204, None
        answer = self._status(name)
        if not only_failed or connector.state == "FAILED":
            answer["connector"]["state"] = "RESTARTING"
            answer["connector"].pop("trace", None)
            connector.state, connector.trace = "RUNNING", None
            self.restarts[(name, None)] += 1
        if include_tasks:
            for i, task in enumerate(connector.tasks):
                if not only_failed or task.state == "FAILED":
                    answer["tasks"][i]["state"] = "RESTARTING"
                    answer["tasks"][i].pop("trace", None)
                    task.state, task.trace = "RUNNING", None
                    self.restarts[(name, i)] += 1
        return 202, answer


class _Handler(BaseHTTPRequestHandler):
    owner: ConnectStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .log
        pass

    def _send(self, status: int, body: Any, content_type: str = JSON) -> None:
        data = b"" if body is None else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode()
        )
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _dispatch(self) -> None:
        owner = self.owner
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        delay = owner._take_delay()
        if delay:
            time.sleep(delay)
        status, answer, content_type = self._answer(split, raw)
        with owner.lock:  # logged before the client can see the answer
            owner.log.append((self.command, split.path, int(status)))
        try:
            self._send(status, answer, content_type)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up first (its timeout shorter than an injected
            # delay), as a real worker sees it: the request stays logged
            self.close_connection = True

    def _answer(self, split: Any, raw: bytes) -> tuple[int, Any, str]:
        owner = self.owner
        if not owner._authorized(self.headers.get("Authorization")):
            return HTTPStatus.UNAUTHORIZED, UNAUTHORIZED_BODY, "text/plain"
        fault = owner._take_fault(self.command, split.path)
        if fault is not None:
            return fault.status, {"error_code": fault.status, "message": fault.message}, JSON
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            return 400, {"error_code": 400, "message": f"Invalid JSON: {exc}"}, JSON
        try:
            status, answer = owner.handle(self.command, split.path, parse_qs(split.query), body)
        except ApiError as exc:
            return exc.status, {"error_code": exc.status, "message": exc.message}, JSON
        return status, answer, JSON

    do_GET = do_PUT = do_POST = do_DELETE = _dispatch
