"""Typed vendor attributes, extras, and which rows of a delivery load."""

from __future__ import annotations

import hashlib

import pytest

from tailor.enrich import attributes
from tailor.enrich.importer import read_delivery, validate_rows
from tailor.source.validate import RowError

TYPED = {"income_band": "income_band", "household_size": "household_size", "home_owner": "home_owner",
         "interests": "interests"}


def test_headers_are_normalised_and_mapped_to_typed_attributes():
    names = [attributes.normalize_header(n) for n in ("Email", "Income Band", "HH-Size", "Homeowner", "Extra Col")]
    assert names == ["email", "income_band", "hh_size", "homeowner", "extra_col"]
    assert attributes.typed_columns(names) == {"income_band": "income_band", "hh_size": "household_size",
                                               "homeowner": "home_owner"}
    with pytest.raises(ValueError, match="look like income_band"):
        attributes.typed_columns(["income", "income_band"])


def test_values_are_parsed_to_their_types():
    row = {"email": "x", "income_band": " Upper Middle ", "household_size": "3.0", "home_owner": "Renter",
           "interests": "Running| books ;running,", "segment": " A1 ", "score": 7, "empty": ""}
    record = attributes.parse_attributes(row, TYPED, "email")
    assert record == {"income_band": "upper_middle", "household_size": 3, "home_owner": False,
                      "interests": ["running", "books"], "extra_attributes": {"segment": "A1", "score": 7}}


def test_parquet_lists_and_booleans_keep_their_types():
    record = attributes.parse_attributes({"interests": ["Garden", None, "garden"], "home_owner": True},
                                         TYPED, "email")
    assert record["interests"] == ["garden"]
    assert record["home_owner"] is True


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("household_size", "many", "bad household_size"),
    ("household_size", "2.5", "bad household_size"),
    ("household_size", "0", "bad household_size"),
    ("household_size", True, "bad household_size"),
    ("home_owner", "maybe", "bad home_owner"),
    ("income_band", "x" * 65, "oversized value"),
    ("interests", "|".join(f"i{n}" for n in range(51)), "oversized value"),
    ("notes", "y" * 1001, "oversized value"),
])
def test_bad_values_raise_with_a_reason(column, value, reason):
    with pytest.raises(RowError) as caught:
        attributes.parse_attributes({column: value}, TYPED, "email")
    assert caught.value.kind == reason


def digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def test_duplicates_identical_load_once_and_conflicting_load_never():
    rows = [
        {"email": "ann@example.com", "income_band": "low"},
        {"email": " ANN@example.com", "income_band": "low"},   # same key after normalisation, same values
        {"email": "bob@example.com", "income_band": "low"},
        {"email": "bob@example.com", "income_band": "high"},   # same key, different statement
        {"email": "bad", "income_band": "low"},
        {"email": "", "income_band": "low"},
        {"email": "cid@example.com", "household_size": "x"},
    ]
    good, bad = validate_rows(rows, "email", "email", {"income_band": "income_band",
                                                       "household_size": "household_size"})
    assert list(good) == [digest("ann@example.com")]
    assert [(n, reason) for n, reason, _ in bad] == [
        (2, "duplicate row"), (3, "duplicate key"), (4, "duplicate key"), (5, "invalid email"),
        (6, "missing key"), (7, "bad household_size"),
    ]
    assert len(good) + len(bad) == len(rows), "every row is either loaded or quarantined"


def test_csv_and_parquet_deliveries_read_to_the_same_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d.csv").write_text("E-Mail,Interests\nann@example.com,a|b\n")
    pq.write_table(pa.table({"E-Mail": ["ann@example.com"], "Interests": [["a", "b"]]}), tmp_path / "d.parquet")
    assert read_delivery(tmp_path / "d.csv") == [{"e_mail": "ann@example.com", "interests": "a|b"}]
    assert read_delivery(tmp_path / "d.parquet") == [{"e_mail": "ann@example.com", "interests": ["a", "b"]}]


def test_repeated_columns_after_normalisation_are_a_file_error(tmp_path):
    from tailor.enrich.importer import EnrichError

    (tmp_path / "d.csv").write_text("Email,E MAIL,e_mail\nx,y,z\n")
    with pytest.raises(EnrichError, match="repeated"):
        read_delivery(tmp_path / "d.csv")
