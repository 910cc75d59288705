"""Connection URLs and connections for the source (``shop``) and the warehouse.

External URLs (``TAILOR_SOURCE_URL`` / ``TAILOR_WAREHOUSE_URL``) win; otherwise
the embedded server's state file says where it listens. Nothing here starts a
server: that is ``tailor db up``'s job, and the error says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal
from urllib.parse import urlsplit

import psycopg

from tailor.config import Settings, get_settings

Database = Literal["shop", "warehouse"]


class NotRunningError(RuntimeError):
    """The embedded database is not up and no external URL is configured."""


def database_url(database: Database, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    external = settings.source_url if database == "shop" else settings.warehouse_url
    if external:
        return external
    from tailor.db.embedded import EmbeddedPostgres

    state = EmbeddedPostgres(settings).read_state()
    if state is None:
        raise NotRunningError(
            f"No '{database}' database: the embedded PostgreSQL has never been started under "
            f"{settings.home}. Run 'tailor db up', or set TAILOR_SOURCE_URL and TAILOR_WAREHOUSE_URL."
        )
    return state.url(database)


def url_parts(url: str) -> dict[str, str | int]:
    """host/port/user/password/dbname of a postgresql:// URL (for dbt, Debezium, Airflow)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "",
        "password": parts.password or "",
        "dbname": parts.path.lstrip("/") or "postgres",
    }


@contextmanager
def connect(database: Database, settings: Settings | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection; commits on success, rolls back on error."""
    url = database_url(database, settings)
    try:
        conn = psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise NotRunningError(
            f"Cannot connect to the '{database}' database: {exc}. "
            "Is it running? Try 'tailor db up' (embedded) or check TAILOR_*_URL."
        ) from exc
    with conn:
        yield conn
