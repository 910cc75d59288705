"""`tailor enrich import` against the real warehouse: storage, quarantine,
replacement, match rate, and Python/SQL agreement on the hashed key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fixtures.warehouse_build import load_raw_fixture, reset_warehouse
from typer.testing import CliRunner

from tailor.config import Settings
from tailor.db.connect import connect
from tailor.enrich import keys
from tailor.enrich.importer import import_delivery
from tailor.transform.dbt import run_dbt

pytestmark = pytest.mark.integration

MAY, JUNE = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)


def rows(settings: Settings, query: str, *params) -> list[tuple]:
    with connect("warehouse", settings) as conn:
        return conn.execute(query, params).fetchall()


def attributes_of(settings: Settings, vendor: str) -> list[tuple]:
    return rows(settings, """
        select email_sha256, income_band, household_size, home_owner, interests, extra_attributes
        from enrich.vendor_attributes where vendor = %s order by email_sha256""", vendor)


@pytest.fixture
def staged(fresh_db: Settings) -> Settings:
    """The hand-made CDC fixture with staging built: the customers a match counts against."""
    reset_warehouse(fresh_db)
    load_raw_fixture(fresh_db)
    result = run_dbt(["run", "--select", "stg_shop__customers"], settings=fresh_db)
    assert result.success, result.summary()
    return fresh_db


def test_python_hash_equals_the_sql_expression_dbt_uses(fresh_db):
    emails = [" Ann@Example.COM ", "carol@example.com", "A.B+tag@Sub.Example.co.uk  ", "x_y%z@e-x.io"]
    with connect("warehouse", fresh_db) as conn:
        for email in emails:
            (sql,) = conn.execute(
                "select encode(sha256(convert_to(lower(trim(%s)), 'UTF8')), 'hex')", (email,)
            ).fetchone()
            assert keys.email_sha256(email) == sql, email


def test_email_delivery_stores_hashes_quarantines_bad_rows_and_reports_the_match_rate(staged, tmp_path):
    delivery = tmp_path / "acme.csv"
    delivery.write_text(
        "Email,Income Band,Household Size,Home Owner,Interests,Segment\n"
        "alice@example.com,Upper Middle,3,yes,running|books,A1\n"
        " CAROL@example.com ,low,2,no,,B2\n"          # customer 3/4's address, other case and spaces
        "frank@example.com,high,1,no,,C3\n"
        "nobody@example.com,high,4,yes,,D4\n"         # valid, not a customer
        "dave(at)example,low,1,no,,E5\n"              # invalid email
        "grace@example.com,low,lots,no,,F6\n"         # bad household_size
        "heidi@example.com,low,1,no,,G7\n"
        "heidi@example.com,high,1,no,,G7\n"           # conflicting duplicate key
    )
    summary = import_delivery(delivery, "Acme", settings=staged, now=MAY)

    assert (summary.rows, summary.loaded, summary.quarantined) == (8, 4, 4)
    assert summary.by_reason == {"invalid email": 1, "bad household_size": 1, "duplicate key": 2}
    assert (summary.matched, summary.match_rate) == (3, 0.75)
    assert "match rate 75.0% (3 of 4 keys are known customers)" in summary.line()
    [run] = rows(staged, "select vendor, key_kind, rows, loaded, quarantined, matched, match_rate, status "
                         "from enrich.import_runs")
    assert run == ("acme", "email", 8, 4, 4, 3, Decimal("0.7500"), "loaded")

    alice = hashlib.sha256(b"alice@example.com").hexdigest()
    stored = {r[0]: r[1:] for r in attributes_of(staged, "acme")}
    assert stored[alice] == ("upper_middle", 3, True, ["running", "books"], {"segment": "A1"})
    quarantined = rows(staged, "select row_number, reason, raw_row from enrich.import_quarantine order by 1")
    assert [(n, reason) for n, reason, _ in quarantined] == [
        (5, "invalid email"), (6, "bad household_size"), (7, "duplicate key"), (8, "duplicate key")]
    assert all(raw["email"] == "[redacted]" for _, _, raw in quarantined)
    # no plain address anywhere in the enrich schema
    (leaks,) = rows(staged, """
        select count(*) from (
            select vendor_attributes::text as t from enrich.vendor_attributes as vendor_attributes
            union all select import_quarantine::text from enrich.import_quarantine as import_quarantine
            union all select import_runs::text from enrich.import_runs as import_runs
        ) as everything where t like '%%@%%'""")[0]
    assert leaks == 0


def test_hash_delivery_in_parquet_matches_the_same_people(staged, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    hashes = [keys.email_sha256(e).upper() for e in ("alice@example.com", "erin@example.com", "zed@example.com")]
    pq.write_table(pa.table({"hashed_email": [*hashes, "not-a-hash"],
                             "interests": [["garden"], ["books", "Books"], None, None],
                             "household_size": [2, 5, 1, 1]}), tmp_path / "hems.parquet")
    summary = import_delivery(tmp_path / "hems.parquet", "hem_co", settings=staged, now=MAY)
    assert (summary.key_kind, summary.key_column) == ("email_sha256", "hashed_email")
    assert (summary.loaded, summary.quarantined, summary.by_reason) == (3, 1, {"malformed hash": 1})
    assert (summary.matched, round(summary.match_rate, 4)) == (2, 0.6667)
    erin = keys.email_sha256("erin@example.com")
    assert {r[0]: (r[2], r[4]) for r in attributes_of(staged, "hem_co")}[erin] == (5, ["books"])


def test_reimport_replaces_the_vendors_delivery_and_is_idempotent(staged, tmp_path):
    first, second, broken = tmp_path / "v1.csv", tmp_path / "v2.csv", tmp_path / "broken.csv"
    first.write_text("email,income_band\nalice@example.com,low\nfrank@example.com,high\n")
    second.write_text("email,income_band\nalice@example.com,high\n")
    broken.write_text("email,income_band\nnot-an-email,low\n")
    import_delivery(first, "acme", settings=staged, now=MAY)
    import_delivery(tmp_path / "v1.csv", "other", settings=staged, now=MAY)
    once = attributes_of(staged, "acme")
    again = import_delivery(first, "acme", settings=staged, now=JUNE)
    assert attributes_of(staged, "acme") == once, "the same file twice: the same attributes"
    assert again.replaced == 2

    import_delivery(second, "acme", settings=staged, now=JUNE.replace(day=2))
    assert [r[1] for r in attributes_of(staged, "acme")] == ["high"], "frank is not in the new delivery"
    assert len(attributes_of(staged, "other")) == 2, "another vendor's delivery is untouched"

    rejected = import_delivery(broken, "acme", settings=staged, now=JUNE.replace(day=3))
    assert rejected.status == "rejected" and rejected.loaded == 0 and rejected.matched is None
    assert [r[1] for r in attributes_of(staged, "acme")] == ["high"], "a file with nothing valid keeps the last one"
    assert rows(staged, "select count(*), count(*) filter (where status = 'rejected') "
                        "from enrich.import_runs where vendor = 'acme'") == [(4, 1)]


def test_match_rate_is_unknown_before_staging_is_built(fresh_db, tmp_path):
    with connect("warehouse", fresh_db) as conn:
        conn.execute("drop view if exists staging.stg_shop__customers cascade")
    (tmp_path / "d.csv").write_text("email\nalice@example.com\n")
    summary = import_delivery(tmp_path / "d.csv", "acme", settings=fresh_db)
    assert summary.loaded == 1 and summary.matched is None
    assert "tailor dbt build -s staging" in summary.line()


def test_cli_prints_a_readable_summary(staged, tmp_path):
    from tailor.cli import app

    (tmp_path / "d.csv").write_text("email,income_band\nalice@example.com,low\nnobody@example.com,low\nbad,low\n")
    result = CliRunner().invoke(app, ["enrich", "import", str(tmp_path / "d.csv"), "--vendor", "acme"])
    assert result.exit_code == 0, result.output
    assert "match rate" in result.output and "50.0%" in result.output
    assert "invalid email" in result.output
    missing = CliRunner().invoke(app, ["enrich", "import", str(tmp_path / "nope.csv"), "--vendor", "acme"])
    assert missing.exit_code == 1 and "does not exist" in " ".join(missing.output.split())
