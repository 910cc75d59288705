"""docker-compose.yml cannot run here (no Docker): check that it is coherent.

Services, dependencies, ports, the env that wires Tailor and Airflow to the
databases, Kafka in KRaft mode, Kafka Connect's file config provider serving
the password reference, and the rendered connector file being current.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tailor.cdc.connector import connector_properties, load_definition
from tailor.config import PROJECT_ROOT, get_settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
RENDERED = PROJECT_ROOT / "docker" / "connect" / "tailor-connector.json"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env(service: dict) -> dict[str, str]:
    """The service's environment with ``${VAR...}`` interpolations replaced by a token."""
    return {
        k: re.sub(r"\$\{[^}]*\}", "interpolated", str(v))
        for k, v in (service.get("environment") or {}).items()
    }


def test_every_component_is_there(compose: dict) -> None:
    services = compose["services"]
    for name in ("source-db", "warehouse-db", "kafka", "connect", "connect-init", "mailpit",
                 "airflow-init", *AIRFLOW_SERVICES):
        assert name in services, f"docker-compose.yml has no '{name}' service"
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert dependency != name, f"{name} depends on itself"


def test_published_ports_do_not_clash(compose: dict) -> None:
    host_ports = [
        str(p).split(":")[0]
        for s in compose["services"].values()
        for p in s.get("ports") or []
    ]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_source_has_logical_wal_and_kafka_is_kraft(compose: dict) -> None:
    source = compose["services"]["source-db"]
    assert "wal_level=logical" in source["command"]
    kafka = env(compose["services"]["kafka"])
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in k for k in kafka)
    assert kafka["KAFKA_ADVERTISED_LISTENERS"].endswith("kafka:9092")


def test_airflow_is_configured_through_env(compose: dict) -> None:
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["image"] == "apache/airflow:3.3.0"
        e = env(service)
        assert e["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        metadata = urlsplit(e["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert (metadata.hostname, metadata.path) == ("warehouse-db", "/airflow")
        assert urlsplit(e["AIRFLOW_CONN_TAILOR_WAREHOUSE"]).hostname == "warehouse-db"
        assert urlsplit(e["TAILOR_SOURCE_URL"]).hostname == "source-db"
        assert urlsplit(e["TAILOR_WAREHOUSE_URL"]).hostname == "warehouse-db"
        assert e["TAILOR_CONNECT_URL"] == "http://connect:8083"
        assert urlsplit(e["TAILOR_SMTP_URL"]).hostname == "mailpit"
        assert "airflow-init" in service["depends_on"]
        assert any(v.startswith("./:") for v in service["volumes"])  # this repo, mounted
    commands = {services[n]["command"] for n in AIRFLOW_SERVICES}
    assert commands == {"api-server", "scheduler", "dag-processor", "triggerer"}
    init = (PROJECT_ROOT / "docker" / "postgres" / "warehouse-init.sql").read_text()
    assert "create database airflow" in init


def test_no_secret_is_written_into_the_file(compose: dict) -> None:
    text = COMPOSE.read_text()
    keys = re.findall(r"^\s*([A-Z_]*(?:PASSWORD|SECRET)[A-Z_]*):\s*(.+)$", text, re.M)
    assert keys
    for key, value in keys:
        assert value.startswith("${"), f"literal secret in docker-compose.yml: {key}: {value}"
    for url in re.findall(r"postgres(?:ql)?(?:\+psycopg2)?://[^\s\"]+", text):
        userinfo = url.split("://", 1)[1].split("@", 1)[0]
        assert ":" not in userinfo or "${" in userinfo, f"literal password in {url}"


def test_connect_resolves_the_password_reference(compose: dict) -> None:
    connect = compose["services"]["connect"]
    e = env(connect)
    assert e["CONNECT_CONFIG_PROVIDERS"] == "file"
    assert e["CONNECT_CONFIG_PROVIDERS_FILE_CLASS"].endswith("FileConfigProvider")
    reference = str(load_definition().get("runners", "kafka_connect", "password_reference"))
    path = re.fullmatch(r"\$\{file:(.+):password\}", reference)
    assert path, reference
    mounts = {v.split(":")[1]: v.split(":")[0] for v in connect["volumes"]}
    secret_dir = str(Path(path[1]).parent)
    assert secret_dir in mounts, f"{secret_dir} is not mounted into the connect service"
    assert (PROJECT_ROOT / mounts[secret_dir] / "tailor.properties.example").exists()


def test_rendered_connector_file_is_current(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file connect-init PUTs is what `tailor connectors render` gives for this topology."""
    tailor_env = env(compose["services"]["airflow-scheduler"])
    monkeypatch.setenv("TAILOR_CONNECT_SOURCE_URL", tailor_env["TAILOR_CONNECT_SOURCE_URL"])
    monkeypatch.setenv("TAILOR_SOURCE_URL", "postgresql://unused@unused/shop")
    monkeypatch.setenv("TAILOR_WAREHOUSE_URL", "postgresql://unused@unused/warehouse")
    get_settings.cache_clear()
    try:
        wanted = connector_properties(get_settings(), embedded=False)
    finally:
        get_settings.cache_clear()
    assert json.loads(RENDERED.read_text()) == wanted, (
        "docker/connect/tailor-connector.json is stale: run TAILOR_CONNECT_SOURCE_URL="
        f"{tailor_env['TAILOR_CONNECT_SOURCE_URL']} tailor connectors render --out {RENDERED}"
    )
    assert wanted["database.hostname"] == "source-db"
    init = compose["services"]["connect-init"]
    assert any(v.startswith("./docker/connect/tailor-connector.json:") for v in init["volumes"])
    assert "http://connect:8083/connectors/tailor/config" in init["command"]
