"""Settings for every Tailor component, read from environment variables.

One object, built once per process by :func:`get_settings`, carries everything
a component needs to know about where it runs. The embedded default (one
machine, no Docker) needs no variables at all; production sets the URLs.
Secrets (passwords inside URLs) are never logged: use :func:`redact_url`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where things live and how to reach them.

    ``source_url`` / ``warehouse_url`` are ``None`` in embedded mode: the
    embedded server (``tailor db up``) supplies them at run time.
    """

    home: Path
    project_root: Path = PROJECT_ROOT
    source_url: str | None = None
    warehouse_url: str | None = None
    pg_bin_dir: Path | None = None
    pg_port: int = 54329
    smtp_url: str | None = None
    smtp_from: str = "Tailor Demo Shop <hello@shop.example>"
    java_home: Path | None = None
    send_rate_per_s: float = 50.0
    extra: dict[str, str] = field(default_factory=dict)

    # ----- derived locations -------------------------------------------------
    @property
    def pg_data_dir(self) -> Path:
        return self.home / "pg" / "data"

    @property
    def pg_state_file(self) -> Path:
        return self.home / "pg" / "state.json"

    @property
    def cdc_dir(self) -> Path:
        return self.home / "cdc"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def gx_dir(self) -> Path:
        return self.project_root / "include" / "gx"

    @property
    def templates_dir(self) -> Path:
        return self.project_root / "include" / "templates"

    @property
    def dags_dir(self) -> Path:
        return self.project_root / "dags"

    @property
    def embedded(self) -> bool:
        return self.source_url is None or self.warehouse_url is None


def _send_rate() -> float:
    """Emails per second: explicit setting, else 50 for a real relay (which
    throttles bursts) and unpaced (0) for the embedded sink, which has none."""
    explicit = os.environ.get("TAILOR_SEND_RATE_PER_S")
    if explicit:
        return float(explicit)
    return 50.0 if os.environ.get("TAILOR_SMTP_URL") else 0.0


def load_settings() -> Settings:
    """Build settings from the environment (no caching: tests change env vars)."""
    return Settings(
        home=_env_path("TAILOR_HOME", PROJECT_ROOT / ".tailor"),
        source_url=os.environ.get("TAILOR_SOURCE_URL") or None,
        warehouse_url=os.environ.get("TAILOR_WAREHOUSE_URL") or None,
        pg_bin_dir=_env_path("TAILOR_PG_BIN", Path()) if os.environ.get("TAILOR_PG_BIN") else None,
        pg_port=int(os.environ.get("TAILOR_PG_PORT", "54329")),
        smtp_url=os.environ.get("TAILOR_SMTP_URL") or None,
        smtp_from=os.environ.get("TAILOR_SMTP_FROM", Settings.smtp_from),
        java_home=_env_path("TAILOR_JAVA_HOME", Path()) if os.environ.get("TAILOR_JAVA_HOME") else None,
        send_rate_per_s=_send_rate(),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings. Call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()


def redact_url(url: str) -> str:
    """The URL with its password replaced, safe for logs and summaries."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
