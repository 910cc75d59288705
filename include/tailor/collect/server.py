"""Running the collector app under uvicorn (one or several worker processes)."""

from __future__ import annotations

import os
import shutil

from tailor.config import Settings


def serve(host: str, port: int, workers: int, log_level: str, settings: Settings) -> None:
    """Start uvicorn on ``host:port``; blocks until interrupted.

    Several workers share nothing but the database, so the Prometheus
    counters go through a multiprocess directory under TAILOR_HOME, emptied
    on start (stale files from a previous run would add old counts).
    """
    import uvicorn

    if workers > 1:
        metrics_dir = settings.home / "collect" / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "tailor.collect.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        proxy_headers=True,
    )
