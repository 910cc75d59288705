"""`tailor bench NAME`: run a scenario from benchmarks/NAME.py.

A scenario module defines ``run(size: int | None, progress) -> dict`` and
returns plain figures; ratios are measured against a baseline inside the same
run, never against a number remembered from another machine.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tailor.config import get_settings


def benchmarks_dir() -> Path:
    return get_settings().project_root / "benchmarks"


def available() -> list[str]:
    return sorted(p.stem for p in benchmarks_dir().glob("*.py") if not p.stem.startswith("_"))


def run_benchmark(name: str, size: int | None, progress: Callable[[str], None]) -> dict[str, Any]:
    path = benchmarks_dir() / f"{name}.py"
    if not path.exists():
        raise ValueError(f"No benchmark '{name}'. Available: {', '.join(available()) or 'none'}")
    spec = importlib.util.spec_from_file_location(f"tailor_bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(size=size, progress=progress)
