"""`tailor connectors ...`: deploy and watch the Debezium connector on Kafka Connect.

The config is rendered from the one definition (``tailor/cdc/connector.yml``,
see :mod:`tailor.cdc.connector`) and sent over Connect's REST API
(:mod:`tailor.cdc.connect_rest`):

* ``render``   print the Kafka Connect JSON (secrets masked unless asked);
* ``validate`` ask Connect (``PUT /connector-plugins/{class}/config/validate``),
  or, with ``--local``, the real Debezium connector class in a child JVM;
* ``apply``    create or update, idempotently: created / updated / unchanged;
* ``status``   connector and task states, with the trace of a failed task;
* ``restart``  restart what FAILED, and nothing that runs.

Exit codes: 0 fine; 1 something is wrong (invalid config, FAILED task,
Connect unreachable), with a message that says what to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

UrlOpt = Annotated[
    str,
    typer.Option(
        "--url", envvar="TAILOR_CONNECT_URL", help="Kafka Connect REST URL (any worker)"
    ),
]
UserOpt = Annotated[
    str | None,
    typer.Option("--user", envvar="TAILOR_CONNECT_USER", help="Basic-auth user"),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password", envvar="TAILOR_CONNECT_PASSWORD", help="Basic-auth password",
        show_default=False,
    ),
]
CaOpt = Annotated[
    Path | None,
    typer.Option("--ca-bundle", envvar="TAILOR_CONNECT_CA_BUNDLE", help="CA file to verify TLS with"),
]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Do not verify the TLS certificate (test clusters only)")
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per request (connect and read)")]
RetriesOpt = Annotated[
    int, typer.Option("--retries", help="Attempts per request on 409 (rebalance) / 5xx / network errors")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Connector name (default: connector.yml)")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="A JSON config to use instead of the rendered one"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one property: KEY=VALUE (repeatable)"),
]

DEFAULT_URL = "http://localhost:8083"


def register(app: typer.Typer) -> None:
    """Add the `connectors` commands to the top-level `tailor` app."""
    from rich.console import Console
    from rich.table import Table

    connectors_app = typer.Typer(
        help="Kafka Connect: render, validate, apply, watch and restart the Debezium connector.",
        no_args_is_help=True,
    )
    app.add_typer(connectors_app, name="connectors")
    console = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False)

    def fail(message: str) -> None:
        err.print(f"[bold red]error:[/] {message}", markup=True)
        raise typer.Exit(1)

    def client(url: str, user: str | None, password: str | None, ca_bundle: Path | None,
               insecure: bool, timeout: float, retries: int) -> Any:
        from tailor.cdc.connect_rest import ConnectClient

        if (user is None) != (password is None):
            fail("basic auth needs both --user and --password (or TAILOR_CONNECT_USER and "
                 "TAILOR_CONNECT_PASSWORD)")
        if ca_bundle is not None and not ca_bundle.is_file():
            fail(f"--ca-bundle {ca_bundle} is not a file")
        verify: bool | str = False if insecure else (str(ca_bundle) if ca_bundle else True)
        return ConnectClient(
            url or DEFAULT_URL,
            auth=(user, password) if user is not None and password is not None else None,
            verify=verify, timeout=timeout, retries=retries,
        )

    def wanted_config(config_file: Path | None, overrides: list[str] | None,
                      *, embedded: bool = False) -> dict[str, str]:
        from tailor.cdc.connector import ConnectorDefinitionError, connector_properties
        from tailor.config import get_settings
        from tailor.db.connect import NotRunningError

        if config_file is not None:
            try:
                loaded = json.loads(config_file.read_text())
            except (OSError, ValueError) as exc:
                fail(f"cannot read {config_file} as JSON: {exc}")
            if isinstance(loaded, dict) and isinstance(loaded.get("config"), dict):
                loaded = loaded["config"]  # the POST /connectors form {"name", "config"}
            if not isinstance(loaded, dict):
                fail(f"{config_file} must hold a JSON object of connector properties")
            config = {str(k): str(v) for k, v in loaded.items()}
        else:
            try:
                config = connector_properties(get_settings(), embedded=embedded)
            except NotRunningError as exc:
                fail(f"{exc} (Kafka Connect renders need the shop's address: "
                     "TAILOR_CONNECT_SOURCE_URL is enough)")
            except ConnectorDefinitionError as exc:
                fail(str(exc))
        for item in overrides or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                fail(f"--set {item!r}: expected KEY=VALUE")
            config[key.strip()] = value
        return config

    def connect_error(exc: Exception) -> None:
        fail(str(exc))

    def print_field_errors(answer: dict[str, Any], where: str) -> int:
        from tailor.cdc.connect_rest import field_errors

        problems = field_errors(answer)
        if not problems:
            console.print(f"[green]valid[/] ({where}): no field errors", markup=True)
            return 0
        err.print(f"[bold red]invalid[/] ({where}): {len(problems)} problem(s)", markup=True)
        for problem in problems:
            err.print(f"  - field [bold]{problem.field}[/]", markup=True)
            err.print(f"    value:  {problem.value if problem.value not in (None, '') else '(not set)'}",
                      markup=False)
            err.print(f"    reason: {problem.reason}", markup=False)
        err.print("Fix the value in include/tailor/cdc/connector.yml (or the --config file) "
                  "and validate again.", markup=False)
        return 1

    # ------------------------------------------------------------------ render
    @connectors_app.command("render")
    def render(
        embedded: Annotated[bool, typer.Option("--embedded", help="The embedded engine's properties instead")] = False,
        show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Print passwords instead of ***")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
        overrides: SetOpt = None,
    ) -> None:
        """Print the connector config (the body `apply` PUTs to /connectors/{name}/config)."""
        from tailor.cdc.connector import redacted

        config = wanted_config(None, overrides, embedded=embedded)
        shown = config if show_secrets else redacted(config)
        text = json.dumps(shown, indent=2, sort_keys=True) + "\n"
        if out is None:
            sys.stdout.write(text)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        if shown != config:
            err.print(f"note: secrets in {out} are masked; pass --show-secrets for a deployable file")
        console.print(f"wrote {out} ({len(config)} properties)")

    # ------------------------------------------------------------------ validate
    @connectors_app.command("validate")
    def validate(
        local: Annotated[bool, typer.Option("--local", help="Validate with the real Debezium class in a local JVM (no cluster)")] = False,
        config_file: ConfigOpt = None,
        overrides: SetOpt = None,
        url: UrlOpt = DEFAULT_URL,
        user: UserOpt = None,
        password: PasswordOpt = None,
        ca_bundle: CaOpt = None,
        insecure: InsecureOpt = False,
        timeout: TimeoutOpt = 10.0,
        retries: RetriesOpt = 5,
    ) -> None:
        """Check the config field by field; prints field, value and reason for each problem."""
        from tailor.cdc.connect_rest import ConnectError
        from tailor.cdc.connector import CONNECTOR_CLASS

        config = wanted_config(config_file, overrides)
        if local:
            answer = _validate_local(config, fail, err)
            raise typer.Exit(print_field_errors(answer, "Debezium PostgresConnector, local JVM"))
        api = client(url, user, password, ca_bundle, insecure, timeout, retries)
        try:
            answer = api.validate(config.get("connector.class", CONNECTOR_CLASS), config)
        except ConnectError as exc:
            connect_error(exc)
        raise typer.Exit(print_field_errors(answer, f"Kafka Connect at {api.url}"))

    # ------------------------------------------------------------------ apply
    @connectors_app.command("apply")
    def apply(
        name: NameOpt = None,
        config_file: ConfigOpt = None,
        overrides: SetOpt = None,
        url: UrlOpt = DEFAULT_URL,
        user: UserOpt = None,
        password: PasswordOpt = None,
        ca_bundle: CaOpt = None,
        insecure: InsecureOpt = False,
        timeout: TimeoutOpt = 10.0,
        retries: RetriesOpt = 5,
    ) -> None:
        """Create or update the connector; a second apply of the same config changes nothing."""
        from tailor.cdc.connect_rest import ConnectError, config_diff
        from tailor.cdc.connector import CONNECTOR_NAME, redacted

        config = wanted_config(config_file, overrides)
        name = name or config.get("name") or CONNECTOR_NAME
        config["name"] = name  # Connect stores it in the config; compare like with like
        api = client(url, user, password, ca_bundle, insecure, timeout, retries)
        try:
            current = api.get_config(name)
            if current == config:
                console.print(f"[green]unchanged[/]: connector '{name}' already has this config "
                              f"({len(config)} properties)", markup=True)
                return
            created, _ = api.put_config(name, config)
        except ConnectError as exc:
            connect_error(exc)
        if created:
            console.print(f"[green]created[/]: connector '{name}' ({len(config)} properties) "
                          f"on {api.url}", markup=True)
            return
        changes = config_diff(redacted(current or {}), redacted(config))
        console.print(f"[yellow]updated[/]: connector '{name}', {len(changes)} propert"
                      f"{'y' if len(changes) == 1 else 'ies'} changed", markup=True)
        for key, (before, after) in changes.items():
            console.print(f"  {key}: {before!r} -> {after!r}", markup=False)

    # ------------------------------------------------------------------ status
    @connectors_app.command("status")
    def status(
        name: NameOpt = None,
        url: UrlOpt = DEFAULT_URL,
        user: UserOpt = None,
        password: PasswordOpt = None,
        ca_bundle: CaOpt = None,
        insecure: InsecureOpt = False,
        timeout: TimeoutOpt = 10.0,
        retries: RetriesOpt = 5,
    ) -> None:
        """Connector and task states; the trace of anything FAILED. Exit 1 if something failed."""
        from tailor.cdc.connect_rest import ConnectError, failed_tasks
        from tailor.cdc.connector import CONNECTOR_NAME

        name = name or CONNECTOR_NAME
        api = client(url, user, password, ca_bundle, insecure, timeout, retries)
        try:
            answer = api.status(name)
        except ConnectError as exc:
            if exc.status == 404:
                fail(f"there is no connector '{name}' on {api.url}; create it with "
                     "'tailor connectors apply'")
            connect_error(exc)
        table = Table(title=f"connector '{name}' on {api.url}")
        table.add_column("instance")
        table.add_column("state")
        table.add_column("worker")
        connector = answer.get("connector", {})
        table.add_row("connector", _state(connector.get("state")), str(connector.get("worker_id", "")))
        for task in answer.get("tasks", []):
            table.add_row(f"task {task.get('id')}", _state(task.get("state")), str(task.get("worker_id", "")))
        console.print(table)
        failed = failed_tasks(answer)
        if connector.get("state") == "FAILED":
            err.print("connector FAILED:", markup=False)
            err.print(str(connector.get("trace") or "(no trace)"), markup=False)
        for task in failed:
            err.print(f"task {task.get('id')} FAILED on {task.get('worker_id')}:", markup=False)
            err.print(str(task.get("trace") or "(no trace)"), markup=False)
        if failed or connector.get("state") == "FAILED":
            err.print("Fix the cause shown in the trace, then run 'tailor connectors restart' "
                      "(restarts failed instances only).", markup=False)
            raise typer.Exit(1)

    # ------------------------------------------------------------------ restart
    @connectors_app.command("restart")
    def restart(
        name: NameOpt = None,
        url: UrlOpt = DEFAULT_URL,
        user: UserOpt = None,
        password: PasswordOpt = None,
        ca_bundle: CaOpt = None,
        insecure: InsecureOpt = False,
        timeout: TimeoutOpt = 10.0,
        retries: RetriesOpt = 5,
    ) -> None:
        """Restart the FAILED tasks (and the connector if it FAILED); running ones are left alone."""
        from tailor.cdc.connect_rest import ConnectError, failed_tasks
        from tailor.cdc.connector import CONNECTOR_NAME

        name = name or CONNECTOR_NAME
        api = client(url, user, password, ca_bundle, insecure, timeout, retries)
        try:
            before = api.status(name)
            failed = [int(t["id"]) for t in failed_tasks(before)]
            connector_failed = before.get("connector", {}).get("state") == "FAILED"
            if not failed and not connector_failed:
                console.print(f"nothing to restart: connector '{name}' and its "
                              f"{len(before.get('tasks', []))} task(s) are not FAILED")
                return
            response = api.restart_failed(name)
            if response.status_code == 202:
                answer = response.json()
                restarted = [f"task {t['id']}" for t in answer.get("tasks", [])
                             if t.get("state") == "RESTARTING"]
                if answer.get("connector", {}).get("state") == "RESTARTING":
                    restarted.insert(0, "connector")
            else:
                # A worker older than Kafka 3.0 ignores includeTasks/onlyFailed and
                # restarted the connector only: restart each failed task by id.
                restarted = ["connector"] if connector_failed else []
                for task_id in failed:
                    api.restart_task(name, task_id)
                    restarted.append(f"task {task_id}")
        except ConnectError as exc:
            if exc.status == 404:
                fail(f"there is no connector '{name}' on {api.url}")
            connect_error(exc)
        console.print(f"restarted: {', '.join(restarted) or 'nothing'}; check with "
                      "'tailor connectors status'")


def _state(state: Any) -> str:
    colour = {"RUNNING": "green", "FAILED": "red", "PAUSED": "yellow"}.get(str(state), "white")
    return f"[{colour}]{state}[/]"


def _resolve_file_reference(value: str) -> str | None:
    """``${file:/path:key}`` -> the key's value, if that file exists here (else None)."""
    if not (value.startswith("${file:") and value.endswith("}")):
        return None
    path, _, key = value[len("${file:"):-1].rpartition(":")
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        k, sep, v = line.partition("=")
        if sep and k.strip() == key:
            return v.strip()
    return None


def _validate_local(config: dict[str, str], fail: Any, err: Any) -> dict[str, Any]:
    """Run ``python -m tailor.cdc.validate_local`` on ``config``; its JSON answer."""
    from tailor.cdc.connector import is_config_reference
    from tailor.config import get_settings
    from tailor.db.connect import NotRunningError, database_url, url_parts

    config = dict(config)
    password = config.get("database.password", "")
    if is_config_reference(password):
        resolved = _resolve_file_reference(password)
        if resolved is None:
            # Kafka Connect would resolve it on the worker; here the shop's own
            # settings know the password of the database the config points at.
            try:
                resolved = str(url_parts(database_url("shop", get_settings()))["password"])
            except NotRunningError as exc:
                fail(f"cannot resolve {password} locally and {exc}")
            err.print(f"note: {password} is not readable here; using the shop password from "
                      "Tailor's settings", markup=False)
        config["database.password"] = resolved
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tailor.cdc.validate_local"],
            input=json.dumps(config), capture_output=True, text=True, timeout=180,
            env=os.environ.copy(),
        )
    except subprocess.TimeoutExpired:
        fail("the local Debezium validation did not finish in 180 s (is the database reachable?)")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        fail(f"the local Debezium validation gave no answer (exit {proc.returncode}); "
             f"its stderr:\n{proc.stderr[-2000:]}")
    answer = json.loads(lines[-1])
    if "fatal" in answer:
        fail(f"the local Debezium validation could not run: {answer['fatal']}")
    return answer
