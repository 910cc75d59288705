"""The gate's definitions agree with the dbt project, without a database."""

from __future__ import annotations

import re

import pytest

from tailor.config import get_settings
from tailor.quality import definitions
from tailor.quality.gate import GateError, max_staleness_hours


def test_email_regex_is_the_one_dbt_uses():
    macro = (get_settings().dbt_project_dir / "macros" / "email.sql").read_text()
    assert f"'{definitions.EMAIL_REGEX}'" in macro


@pytest.mark.parametrize(("email", "valid"), [
    ("alice@example.com", True), ("a.b+tag@mail.co.uk", True),
    ("dave(at)example", False), ("no@tld", False), (" Carol@Example.COM ", False),
])
def test_email_regex(email, valid):
    assert bool(re.match(definitions.EMAIL_REGEX, email)) is valid


def test_every_suite_is_committed_as_a_file():
    gx_dir = get_settings().gx_dir
    for suite in definitions.SUITES:
        assert (gx_dir / "expectations" / f"{suite}.json").exists(), suite
        assert (gx_dir / "validation_definitions" / f"{suite}.json").exists(), suite
    assert (gx_dir / "checkpoints" / f"{definitions.CHECKPOINT}.json").exists()
    config = (gx_dir / "great_expectations.yml").read_text()
    assert "${" + definitions.URL_VARIABLE + "}" in config
    assert "password" not in config.lower()


def test_staleness_is_configurable(monkeypatch):
    monkeypatch.delenv("TAILOR_MAX_STALENESS_HOURS", raising=False)
    assert max_staleness_hours() == 24.0
    monkeypatch.setenv("TAILOR_MAX_STALENESS_HOURS", "6.5")
    assert max_staleness_hours() == 6.5
    monkeypatch.setenv("TAILOR_MAX_STALENESS_HOURS", "a day")
    with pytest.raises(GateError, match="TAILOR_MAX_STALENESS_HOURS"):
        max_staleness_hours()
