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


DEV_WRITE_KEY = "tailor-dev-write-key"


@dataclass(frozen=True)
class CollectSettings:
    """The event collector's knobs (``tailor collect serve``).

    Write keys are public in a browser (as with Segment) but still name the
    source an event came from; webhook keys and secrets are real secrets and
    are kept out of ``repr`` so they never reach a log line.
    """

    # name -> write key; a request authenticates with any of them
    write_keys: dict[str, str] = field(default_factory=lambda: {"dev": DEV_WRITE_KEY}, repr=False)
    # SendGrid "Signed Event Webhook" verification key (base64 DER or PEM)
    sendgrid_public_key: str | None = field(default=None, repr=False)
    # HMAC-SHA256 secret of the generic JSON webhook
    webhook_secret: str | None = field(default=None, repr=False)
    # what happens to an event whose context denies analytics consent:
    # 'drop' (count it, store nothing) or 'anonymous' (store it stripped of
    # every identifier, user agent, IP and properties)
    consent_mode: str = "drop"
    # track event names accepted beyond the e-commerce spec names; "*" = any
    custom_events: tuple[str, ...] = ()
    # timestamps older than this (after clock-skew correction) are quarantined
    # except on /v1/import; future ones beyond max_future_minutes likewise
    max_age_days: int = 30
    max_future_minutes: int = 24 * 60
    # group commit: at most this many events per insert transaction
    max_batch_events: int = 2000


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
    # How Kafka Connect's workers reach the shop (may differ from how Tailor
    # does, e.g. a Docker network name); None: the same as source_url.
    connect_source_url: str | None = None
    send_rate_per_s: float = 50.0
    # Weather source (tailor.enrich.weather): 'file:/path/to/export.csv';
    # None: the bundled offline sample.
    weather_provider: str | None = None
    # The Great Expectations file context (committed definitions, and the
    # uncommitted/ results and Data Docs every gate run writes); None: the
    # project's include/gx. Elsewhere when the code tree is read-only or
    # shared by concurrent runs (the test suite's xdist workers).
    gx_context_dir: Path | None = None
    collect: CollectSettings = field(default_factory=CollectSettings)
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
        return self.gx_context_dir or self.project_root / "include" / "gx"

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


def _write_keys(raw: str | None) -> dict[str, str]:
    """``name:key,name2:key2`` (or bare keys, named key1, key2, ...)."""
    if not raw:
        return {"dev": DEV_WRITE_KEY}
    keys: dict[str, str] = {}
    for i, item in enumerate(filter(None, (part.strip() for part in raw.split(","))), start=1):
        name, sep, key = item.partition(":")
        keys[name if sep else f"key{i}"] = key if sep else name
    return keys


def load_collect_settings() -> CollectSettings:
    """Collector settings from ``TAILOR_COLLECT_*`` / webhook variables."""
    env = os.environ.get
    consent_mode = env("TAILOR_COLLECT_CONSENT_MODE", "drop").strip().lower()
    if consent_mode not in ("drop", "anonymous"):
        raise ValueError(
            f"TAILOR_COLLECT_CONSENT_MODE={consent_mode!r}: use 'drop' (store nothing) or "
            "'anonymous' (store events stripped of identifiers)"
        )
    return CollectSettings(
        write_keys=_write_keys(env("TAILOR_COLLECT_WRITE_KEYS")),
        sendgrid_public_key=env("TAILOR_SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        webhook_secret=env("TAILOR_WEBHOOK_SECRET") or None,
        consent_mode=consent_mode,
        custom_events=tuple(
            name.strip() for name in env("TAILOR_COLLECT_CUSTOM_EVENTS", "").split(",") if name.strip()
        ),
        max_age_days=int(env("TAILOR_COLLECT_MAX_AGE_DAYS", "30")),
        max_future_minutes=int(env("TAILOR_COLLECT_MAX_FUTURE_MINUTES", str(24 * 60))),
        max_batch_events=int(env("TAILOR_COLLECT_MAX_BATCH_EVENTS", "2000")),
    )


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
        connect_source_url=os.environ.get("TAILOR_CONNECT_SOURCE_URL") or None,
        weather_provider=os.environ.get("TAILOR_WEATHER_PROVIDER") or None,
        gx_context_dir=_env_path("TAILOR_GX_DIR", Path()) if os.environ.get("TAILOR_GX_DIR") else None,
        collect=load_collect_settings(),
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
