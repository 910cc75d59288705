"""`tailor airflow …` runs the real airflow CLI with Tailor's environment."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_dags_list_shows_the_pipeline(pg):
    tailor = Path(sys.executable).with_name("tailor")
    result = subprocess.run(
        [str(tailor), "airflow", "dags", "list", "--output", "plain"],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for dag_id in ("tailor_capture", "tailor_transform", "tailor_quality_gate", "tailor_export"):
        assert dag_id in result.stdout
    assert (pg.airflow_home / "airflow.db").exists(), "metadata lives under TAILOR_HOME/airflow"
