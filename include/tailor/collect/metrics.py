"""Prometheus metrics of the collector, served as text at ``/metrics``.

With ``--workers N`` each uvicorn worker is its own process, so the counters
live in prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
set by ``tailor collect serve`` before the workers start); one worker then
answers ``/metrics`` for all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

EVENTS = Counter(
    "tailor_collect_events_total",
    "Events received, by endpoint and outcome (accepted, duplicate, quarantined, consent_withheld).",
    ["endpoint", "outcome"],
)
QUARANTINED = Counter(
    "tailor_collect_quarantined_total",
    "Requests or events quarantined, by reason.",
    ["reason"],
)
REQUESTS = Counter(
    "tailor_collect_requests_total",
    "HTTP requests answered, by endpoint and status code.",
    ["endpoint", "status"],
)
LATENCY = Histogram(
    "tailor_collect_request_seconds",
    "Time from request start to response, by endpoint.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
WEBHOOK_EVENTS = Counter(
    "tailor_collect_webhook_events_total",
    "ESP webhook events, by provider and outcome (stored, duplicate, suppressed, ignored, quarantined).",
    ["provider", "outcome"],
)


def render() -> tuple[bytes, str]:
    """The metrics page (all workers' figures in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
