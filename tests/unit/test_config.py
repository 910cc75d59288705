from pathlib import Path

from tailor.config import load_settings, redact_url


def test_redact_url_hides_password_only():
    assert redact_url("postgresql://tailor:s3cret@127.0.0.1:5432/shop") == "postgresql://tailor:***@127.0.0.1:5432/shop"
    assert redact_url("postgresql://127.0.0.1/shop") == "postgresql://127.0.0.1/shop"


def test_embedded_when_no_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    monkeypatch.delenv("TAILOR_SOURCE_URL", raising=False)
    monkeypatch.delenv("TAILOR_WAREHOUSE_URL", raising=False)
    settings = load_settings()
    assert settings.embedded
    assert settings.home == tmp_path
    assert settings.pg_data_dir == tmp_path / "pg" / "data"
    assert settings.airflow_home == tmp_path / "airflow"


def test_external_urls_switch_off_embedded(monkeypatch):
    monkeypatch.setenv("TAILOR_SOURCE_URL", "postgresql://u:p@db:5432/shop")
    monkeypatch.setenv("TAILOR_WAREHOUSE_URL", "postgresql://u:p@dw:5432/warehouse")
    settings = load_settings()
    assert not settings.embedded
    assert settings.warehouse_url.endswith("/warehouse")


def test_project_root_holds_the_dbt_project():
    settings = load_settings()
    assert (settings.dbt_project_dir / "dbt_project.yml").exists() or Path(settings.project_root, "pyproject.toml").exists()


def test_gx_context_is_the_projects_unless_moved(monkeypatch, tmp_path):
    monkeypatch.delenv("TAILOR_GX_DIR", raising=False)
    settings = load_settings()
    assert settings.gx_dir == settings.project_root / "include" / "gx"
    monkeypatch.setenv("TAILOR_GX_DIR", str(tmp_path / "quality"))
    assert load_settings().gx_dir == tmp_path / "quality"


def test_send_rate_paces_real_relays_only(monkeypatch):
    monkeypatch.delenv("TAILOR_SEND_RATE_PER_S", raising=False)
    monkeypatch.delenv("TAILOR_SMTP_URL", raising=False)
    assert load_settings().send_rate_per_s == 0.0
    monkeypatch.setenv("TAILOR_SMTP_URL", "smtp://relay.example:587")
    assert load_settings().send_rate_per_s == 50.0
    monkeypatch.setenv("TAILOR_SEND_RATE_PER_S", "7.5")
    assert load_settings().send_rate_per_s == 7.5
