import pytest

from tailor.db import migrate as migrations


def test_every_database_has_ordered_migrations():
    for database in ("shop", "warehouse"):
        found = migrations.discover(database)
        assert found, database
        versions = [m.version for m in found]
        assert versions == sorted(versions)
        assert len(set(versions)) == len(versions)


def test_badly_named_migration_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "001_init.sql").write_text("select 1")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(migrations.MigrationError, match="V001__"):
        migrations.discover("shop")
