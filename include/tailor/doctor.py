"""`tailor doctor`: is this machine ready, and if not, what is the fix.

Every check returns a row a person can act on: what was looked at, what was
found, and — when something is missing — the one command that fixes it.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from tailor.config import Settings, get_settings

# Components whose versions matter (see requirements.txt for why these pins).
PACKAGES = (
    "apache-airflow",
    "dbt-core",
    "dbt-postgres",
    "great_expectations",
    "astronomer-cosmos",
    "pydbzengine",
    "pgserver",
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = platform.python_version()
    ok = sys.version_info[:2] == (3, 11)
    return Check("python", ok, version, "" if ok else "Tailor is pinned for Python 3.11: run 'make install' with PYTHON=python3.11")


def check_packages() -> list[Check]:
    checks = []
    for name in PACKAGES:
        try:
            checks.append(Check(name, True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            checks.append(Check(name, False, "not installed", "make install  (pip install -r requirements.txt)"))
    return checks


def check_java(settings: Settings) -> Check:
    from tailor.cdc.java import JavaNotFoundError, find_jvm

    try:
        jvm = find_jvm(settings)
    except JavaNotFoundError as exc:
        return Check("java", False, "no usable Java >= 17", str(exc))
    return Check("java", True, f"{jvm.version} ({jvm.source}: {jvm.java_home})")


def check_postgres_binaries(settings: Settings) -> Check:
    from tailor.db.embedded import EmbeddedPostgresError, find_bin_dir

    if not settings.embedded:
        return Check("postgres binaries", True, "not needed: external databases configured")
    try:
        bin_dir = find_bin_dir(settings)
    except EmbeddedPostgresError as exc:
        return Check("postgres binaries", False, "missing", str(exc))
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True)
    return Check("postgres binaries", out.returncode == 0, f"{out.stdout.strip()} in {bin_dir}")


def check_database(settings: Settings) -> Check:
    from tailor.db.service import status

    report = status(settings)
    if report.get("running"):
        where = report.get("warehouse_url", "")
        return Check("database", True, f"{report['mode']}, {where}")
    if settings.embedded:
        return Check("database", False, "embedded PostgreSQL is not running", "tailor db up")
    return Check("database", False, str(report.get("error", "unreachable")), "check TAILOR_SOURCE_URL / TAILOR_WAREHOUSE_URL")


def check_smtp(settings: Settings) -> Check:
    if settings.smtp_url:
        from tailor.config import redact_url

        return Check("smtp", True, f"relay {redact_url(settings.smtp_url)}")
    return Check("smtp", True, f"embedded sink: .eml files in {settings.outbox_dir}")


def check_disk(settings: Settings) -> Check:
    target = settings.home if settings.home.exists() else settings.project_root
    free_gb = shutil.disk_usage(target).free / 1e9
    ok = free_gb > 2
    return Check("disk", ok, f"{free_gb:,.1f} GB free at {target}", "" if ok else "free some space: the demo needs ~2 GB")


def run_checks(settings: Settings | None = None) -> list[Check]:
    settings = settings or get_settings()
    checks = [check_python(), *check_packages()]
    guarded: dict[str, Callable[[Settings], Check]] = {
        "java": check_java,
        "postgres binaries": check_postgres_binaries,
        "database": check_database,
        "smtp": check_smtp,
        "disk": check_disk,
    }
    for name, check in guarded.items():
        try:
            checks.append(check(settings))
        except Exception as exc:  # a broken check must not hide the others
            checks.append(Check(name, False, f"check failed: {exc}"))
    return checks
