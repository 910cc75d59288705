"""Start over: drop and re-create the embedded ``shop`` database.

Used by the seed benchmark and by people who want a clean demo. It only
works on the embedded server (an external shop is somebody's real data).
"""

from __future__ import annotations

import psycopg

from tailor.config import Settings, get_settings
from tailor.db.migrate import migrate


def recreate_shop(settings: Settings | None = None) -> None:
    """Drop the shop database (and replication slots reading it), re-create and migrate it."""
    from tailor.db.embedded import EmbeddedPostgres, create_database

    settings = settings or get_settings()
    if not settings.embedded:
        raise RuntimeError(
            "Refusing to drop an external 'shop' database (TAILOR_SOURCE_URL is set). "
            "Unset it to work on the embedded server."
        )
    state = EmbeddedPostgres(settings).read_state()
    if state is None:
        raise RuntimeError(f"No embedded PostgreSQL under {settings.home}: run 'tailor db up' first.")
    with psycopg.connect(state.url("postgres"), autocommit=True) as conn:
        slots = conn.execute("select slot_name from pg_replication_slots where database = 'shop'").fetchall()
        for (slot,) in slots:
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        conn.execute('drop database if exists "shop" with (force)')
        create_database(conn, "shop")
    migrate("shop", settings)
