"""Versioned, forward-only migrations for the databases Tailor owns.

Files live in ``migrations/<database>/V<NNN>__<name>.sql``; each runs once, in
its own transaction, and is recorded in ``public.tailor_migrations`` with a
checksum so an edited, already-applied migration is reported, not re-run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tailor.config import Settings
from tailor.db.connect import Database, connect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^V(\d{3,})__([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """A migration failed or was changed after it was applied."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(database: Database) -> list[Migration]:
    found = []
    for path in sorted((MIGRATIONS_DIR / database).glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named V001__what_it_does.sql")
        found.append(Migration(int(match[1]), match[2], path))
    return found


def migrate(database: Database, settings: Settings | None = None) -> list[Migration]:
    """Apply pending migrations; returns those applied now."""
    applied_now = []
    with connect(database, settings) as conn:
        conn.execute(
            """
            create table if not exists public.tailor_migrations (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        conn.commit()
        done = {row[0]: row[2] for row in conn.execute("select version, name, checksum from public.tailor_migrations")}
        for migration in discover(database):
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"{migration.path.name} was edited after it was applied to '{database}'. "
                        "Add a new migration instead of changing an applied one."
                    )
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.path.read_text())
                    conn.execute(
                        "insert into public.tailor_migrations (version, name, checksum) values (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except Exception as exc:
                raise MigrationError(f"{migration.path.name} failed on '{database}': {exc}") from exc
            applied_now.append(migration)
    return applied_now
