"""Bring the configured databases to a usable state, embedded or external."""

from __future__ import annotations

from tailor.config import Settings, get_settings, redact_url
from tailor.db.connect import database_url


def ensure_database(settings: Settings | None = None) -> str:
    """Start the embedded server when no external URLs are set; describe where it is."""
    settings = settings or get_settings()
    if settings.embedded:
        from tailor.db.embedded import EmbeddedPostgres

        state = EmbeddedPostgres(settings).up()
        return f"embedded, 127.0.0.1:{state.port}, data in {settings.pg_data_dir}"
    import psycopg

    for name in ("shop", "warehouse"):
        with psycopg.connect(database_url(name, settings), connect_timeout=10) as conn:  # type: ignore[arg-type]
            conn.execute("select 1")
    return f"external, source {redact_url(settings.source_url or '')}"


def status(settings: Settings | None = None) -> dict[str, object]:
    """Running state plus row counts per warehouse schema, for `tailor db status`."""
    import psycopg

    settings = settings or get_settings()
    report: dict[str, object] = {"mode": "embedded" if settings.embedded else "external"}
    if settings.embedded:
        from tailor.db.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(settings)
        state = server.read_state()
        report["running"] = server.is_running()
        report["data_dir"] = str(settings.pg_data_dir)
        if state:
            report["port"] = state.port
    else:
        report["running"] = True
    if not report["running"]:
        return report
    try:
        for name in ("shop", "warehouse"):
            url = database_url(name, settings)  # type: ignore[arg-type]
            report[f"{name}_url"] = redact_url(url)
            with psycopg.connect(url, connect_timeout=5) as conn:
                rows = conn.execute(
                    """
                    select n.nspname, coalesce(sum(c.reltuples) filter (where c.reltuples > 0), 0)::bigint
                    from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
                    group by 1 order by 1
                    """
                ).fetchall()
                report[f"{name}_rows_estimate"] = ", ".join(f"{s}={n:,}" for s, n in rows) or "empty"
    except psycopg.OperationalError as exc:
        report["running"] = False
        report["error"] = str(exc)
    return report
