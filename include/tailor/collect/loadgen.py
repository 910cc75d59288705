"""A load generator for the collector: ``python -m tailor.collect.loadgen --url ...``.

Runs in its own process (the benchmark and the crash test start it that way)
so the collector is measured over real loopback HTTP, not in-process. Sends
``/v1/batch`` requests of realistic track/page/identify events from a few
concurrent connections until ``--events`` were sent or ``--max-seconds``
passed, and prints one JSON line: how many events were acknowledged with a
200 (``acked``), request latencies, and the message ids' prefix so the
caller can count what was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
)


def make_event(prefix: str, n: int) -> dict[str, Any]:
    """The n-th event: mostly page and product views, some add-to-carts and identifies."""
    visitor = n % 5000
    now = datetime.now(UTC).isoformat()
    event: dict[str, Any] = {
        "messageId": f"{prefix}-{n}",
        "anonymousId": f"{prefix}-anon-{visitor}",
        "timestamp": now,
        "context": {
            "userAgent": AGENTS[visitor % len(AGENTS)],
            "timezone": "Europe/Berlin",
            "locale": "de-DE",
            "page": {"url": f"https://shop.example/products/{n % 700 + 1}"},
        },
    }
    kind = n % 10
    if kind < 5:
        event.update(type="page", name="Product")
    elif kind < 8:
        event.update(type="track", event="Product Viewed", properties={"product_id": n % 700 + 1})
    elif kind < 9:
        event.update(type="track", event="Product Added", properties={"product_id": n % 700 + 1, "quantity": 1})
    else:
        event.update(type="identify", userId=str(visitor + 1), traits={"language": "de"})
    return event


async def _worker(client: httpx.AsyncClient, state: dict[str, Any], args: argparse.Namespace,
                  deadline: float) -> None:
    while time.monotonic() < deadline:
        start = state["next"]
        if start >= args.events:
            return
        count = min(args.batch, args.events - start)
        state["next"] += count
        batch = [make_event(args.prefix, n) for n in range(start, start + count)]
        body = {"batch": batch, "sentAt": datetime.now(UTC).isoformat()}
        began = time.perf_counter()
        try:
            response = await client.post("/v1/batch", content=json.dumps(body))
        except httpx.HTTPError as exc:
            state["errors"] += 1
            state["last_error"] = f"{type(exc).__name__}: {exc}"
            continue
        state["latencies"].append(time.perf_counter() - began)
        state["sent"] += count
        if response.status_code == 200:
            state["acked"] += count
            if args.ids:
                state["acked_ids"].extend(e["messageId"] for e in batch)
        else:
            state["status"][response.status_code] = state["status"].get(response.status_code, 0) + 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    auth = "Basic " + base64.b64encode(f"{args.write_key}:".encode()).decode()
    state: dict[str, Any] = {"next": 0, "sent": 0, "acked": 0, "errors": 0, "latencies": [],
                             "status": {}, "acked_ids": [], "last_error": None}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.url, headers={"Authorization": auth,
                                 "Content-Type": "application/json"}, limits=limits, timeout=30) as client:
        started = time.monotonic()
        deadline = started + args.max_seconds
        await asyncio.gather(*(_worker(client, state, args, deadline) for _ in range(args.concurrency)))
        elapsed = time.monotonic() - started
    latencies = sorted(state["latencies"])

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else 0.0

    result = {
        "prefix": args.prefix, "sent": state["sent"], "acked": state["acked"], "requests": len(latencies),
        "errors": state["errors"], "non_200": state["status"], "elapsed_s": round(elapsed, 3),
        "p50_ms": pct(0.5), "p99_ms": pct(0.99), "last_error": state["last_error"],
    }
    if args.ids:
        result["acked_ids"] = state["acked_ids"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--write-key", required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--prefix", default=f"load-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--ids", action="store_true", help="list every acknowledged messageId")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
