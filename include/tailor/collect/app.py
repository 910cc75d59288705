"""The collector: Segment's HTTP Tracking API, ESP webhooks, the site snippet.

``create_app()`` builds the ASGI app ``tailor collect serve`` runs under
uvicorn. Answers follow Segment's HTTP API: ``200 {"success": true}`` for
what was taken in; ``400`` for malformed JSON, oversized payloads and (on the
single-call endpoints) an event that was quarantined; ``401`` for a missing
or unknown write key. Nothing valid or invalid is dropped silently: every
authenticated event is stored, quarantined with a reason, or (consent
denied) counted as withheld. ``503`` only when the database is unreachable,
so SDKs retry later.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tailor.collect import intake, metrics, schema, webhooks
from tailor.collect.normalize import MAX_BATCH_BYTES, MAX_EVENT_BYTES, TYPES, normalize
from tailor.collect.store import EventStore, QuarantineRow, StoreResult, StoreUnavailable
from tailor.collect.suppressions import store_esp_events
from tailor.config import Settings, get_settings

# analytics.js (analytics-next) posts to short paths: /v1/t, /v1/p, /v1/i, ...
SHORT_PATHS = {"i": "identify", "t": "track", "p": "page", "s": "screen", "a": "alias", "g": "group"}


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _problem(status: int, code: str, message: str) -> Response:
    return _json(status, {"success": False, "code": code, "message": message})


class Collector:
    """Request handling shared by the routes; one per app (per worker process)."""

    def __init__(self, settings: Settings, store: EventStore) -> None:
        self.settings = settings
        self.cfg = settings.collect
        self.store = store

    def _done(self, endpoint: str, started: float, response: Response) -> Response:
        metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
        metrics.LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response

    async def _quarantine_only(
        self, endpoint: str, source: str, received_at: datetime, reason: str, detail: str,
        payload: bytes, status: int,
    ) -> Response:
        row = QuarantineRow(received_at, endpoint, source, reason, detail, None, payload)
        await self.store.store([], [row], endpoint, source)
        metrics.EVENTS.labels(endpoint, "quarantined").inc()
        metrics.QUARANTINED.labels(reason).inc()
        return _json(status, {"success": False, "code": reason, "message": detail,
                              "accepted": 0, "duplicates": 0, "quarantined": 1, "withheld": 0})

    async def ingest(self, request: Request, endpoint: str, kind: str | None, *, historical: bool = False) -> Response:
        started = time.perf_counter()
        try:
            response = await self._ingest(request, endpoint, kind, historical)
        except StoreUnavailable as exc:
            response = _problem(503, "store_unavailable", f"{exc}. Retry later.")
            response.headers["Retry-After"] = "5"
        return self._done(endpoint, started, response)

    async def _ingest(self, request: Request, endpoint: str, kind: str | None, historical: bool) -> Response:
        received_at = datetime.now(UTC)
        header_key = intake.key_from_header(request.headers.get("authorization"))
        source = intake.source_for(header_key, self.cfg.write_keys)
        if header_key and source is None:
            return _problem(401, "unauthorized", "unknown write key: check the key your SDK is configured with")
        limit = MAX_EVENT_BYTES if kind else MAX_BATCH_BYTES
        body = await intake.read_body(request, limit)
        if body.too_large or body.error:
            if source is None:
                return _problem(400, "payload_too_large" if body.too_large else "bad_encoding",
                                "payload refused before authentication; send the write key as Basic auth")
            if body.too_large:
                return await self._quarantine_only(
                    endpoint, source, received_at, "payload_too_large",
                    f"payload is over {body.size} bytes; the limit is {limit} "
                    f"({'32 KB per call' if kind else '500 KB per batch, 32 KB per event'})",
                    body.data, 400)
            return await self._quarantine_only(endpoint, source, received_at, "bad_encoding",
                                               body.error or "bad encoding", body.data, 400)
        try:
            parsed = orjson.loads(body.data)
        except orjson.JSONDecodeError as exc:
            if source is None:
                return _problem(400, "malformed_json", f"the body is not valid JSON ({exc})")
            return await self._quarantine_only(endpoint, source, received_at, "malformed_json",
                                               f"the body is not valid JSON: {exc}", body.data, 400)
        if source is None:
            body_key = parsed.get("writeKey") if isinstance(parsed, dict) else None
            source = intake.source_for(body_key if isinstance(body_key, str) else None, self.cfg.write_keys)
            if source is None:
                return _problem(401, "unauthorized",
                                "missing or unknown write key: send it as Basic auth (username = write key)")

        batch_sent_at = None
        batch_context: dict[str, Any] = {}
        if kind is None:
            events = parsed.get("batch") if isinstance(parsed, dict) else None
            if not isinstance(events, list) or not events:
                return await self._quarantine_only(
                    endpoint, source, received_at, "wrong_type" if events != [] else "empty_batch",
                    "the body must be an object with a non-empty 'batch' array of events", body.data, 400)
            batch_sent_at = parsed.get("sentAt")
            if isinstance(parsed.get("context"), dict):
                batch_context = parsed["context"]
        else:
            events = [parsed]

        rows: list[dict[str, Any]] = []
        quarantine: list[QuarantineRow] = []
        withheld = 0
        for event in events:
            outcome = normalize(
                event, kind, received_at=received_at, settings=self.cfg, source=source,
                batch_sent_at=batch_sent_at, batch_context=batch_context, historical=historical,
            )
            if outcome.withheld:
                withheld += 1
            elif outcome.rejected is not None:
                quarantine.append(QuarantineRow(
                    received_at, endpoint, source, outcome.rejected.reason, outcome.rejected.detail,
                    outcome.message_id, outcome.payload))
                metrics.QUARANTINED.labels(outcome.rejected.reason).inc()
            elif outcome.row is not None:
                rows.append(outcome.row)
        result = await self.store.store(rows, quarantine, endpoint, source)
        self._count(endpoint, result, withheld)
        body_out = {"success": True, "accepted": result.stored, "duplicates": result.duplicates,
                    "quarantined": result.quarantined, "withheld": withheld}
        if kind is not None and result.quarantined:
            reject = quarantine[0] if quarantine else None
            body_out.update(success=False, code=reject.reason if reject else "store_rejected",
                            message=reject.detail if reject else "the database refused the event")
            return _json(400, body_out)
        return _json(200, body_out)

    def _count(self, endpoint: str, result: StoreResult, withheld: int) -> None:
        for outcome, n in (("accepted", result.stored), ("duplicate", result.duplicates),
                           ("quarantined", result.quarantined), ("consent_withheld", withheld)):
            if n:
                metrics.EVENTS.labels(endpoint, outcome).inc(n)

    async def webhook(self, request: Request, provider: str) -> Response:
        started = time.perf_counter()
        endpoint = f"/v1/webhooks/{provider}"
        try:
            response = await self._webhook(request, provider, endpoint)
        except StoreUnavailable as exc:
            response = _problem(503, "store_unavailable", f"{exc}. Retry later.")
        return self._done(endpoint, started, response)

    async def _webhook(self, request: Request, provider: str, endpoint: str) -> Response:
        received_at = datetime.now(UTC)
        body = await intake.read_body(request, 4 * MAX_BATCH_BYTES)
        headers = request.headers
        try:
            if provider == "sendgrid":
                webhooks.verify_sendgrid(self.cfg.sendgrid_public_key, body.data,
                                         headers.get(webhooks.SENDGRID_SIGNATURE_HEADER),
                                         headers.get(webhooks.SENDGRID_TIMESTAMP_HEADER))
            else:
                webhooks.verify_generic(self.cfg.webhook_secret, body.data,
                                        headers.get(webhooks.GENERIC_SIGNATURE_HEADER),
                                        headers.get(webhooks.GENERIC_TIMESTAMP_HEADER))
        except webhooks.NotConfigured as exc:
            return _problem(503, "not_configured", str(exc))
        except webhooks.SignatureError as exc:
            metrics.WEBHOOK_EVENTS.labels(provider, "bad_signature").inc()
            return _problem(403, "bad_signature", f"{exc}; the request was rejected and nothing stored")
        if body.too_large:
            return await self._quarantine_only(endpoint, provider, received_at, "payload_too_large",
                                               "webhook body is over 2 MB", body.data, 400)
        try:
            parsed = orjson.loads(body.data)
        except orjson.JSONDecodeError as exc:
            return await self._quarantine_only(endpoint, provider, received_at, "malformed_json",
                                               f"the body is not valid JSON: {exc}", body.data, 400)
        items = parsed.get("events") if isinstance(parsed, dict) else parsed
        if not isinstance(items, list):
            return await self._quarantine_only(endpoint, provider, received_at, "wrong_type",
                                               "the body must be a JSON array of events", body.data, 400)
        parse = webhooks.parse_sendgrid if provider == "sendgrid" else webhooks.parse_generic
        events, quarantine = [], []
        for item in items:
            try:
                events.append(parse(item))
            except webhooks.BadEvent as exc:
                quarantine.append(QuarantineRow(received_at, endpoint, provider, exc.reason, exc.detail,
                                                None, orjson.dumps(item)))
                metrics.QUARANTINED.labels(exc.reason).inc()
        try:
            result = await run_in_threadpool(store_esp_events, self.settings, events)
        except Exception as exc:  # database down or refusing: the ESP retries on 5xx
            raise StoreUnavailable(f"cannot store webhook events ({type(exc).__name__}: {exc})") from exc
        if quarantine:
            await self.store.store([], quarantine, endpoint, provider)
        for outcome, n in (("stored", result.stored), ("duplicate", result.duplicates),
                           ("suppressed", result.suppressed), ("ignored", result.ignored),
                           ("quarantined", len(quarantine))):
            if n:
                metrics.WEBHOOK_EVENTS.labels(provider, outcome).inc(n)
        return _json(200, {"success": True, "stored": result.stored, "duplicates": result.duplicates,
                           "suppressed": result.suppressed, "ignored": result.ignored,
                           "quarantined": len(quarantine)})


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, with the Segment request schemas added to its components."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (*schema.CALLS.values(), schema.Batch, schema.WebhookEvent, schema.Accepted,
                  schema.Problem, schema.WebhookResultModel):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    app.openapi_schema = document
    return document


def _body(model: str, description: str = "") -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    responses = {
        "200": {"description": "Taken in (see the counts)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
        "400": {"description": "Malformed JSON, payload too large, or (single calls) quarantined",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "401": {"description": "Missing or unknown write key"},
        "503": {"description": "Database unreachable: retry (Retry-After)"},
    }
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": ref}, "text/plain": {"schema": ref}}},
            "responses": responses, "security": [{"writeKey": []}]}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app (``uvicorn --factory tailor.collect.app:create_app``)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from tailor.db.connect import database_url

        store = EventStore(database_url("shop", settings), settings.collect.max_batch_events)
        await store.start()
        app.state.collector = Collector(settings, store)
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="Tailor event collector",
        version="1.0",
        description=(
            "Segment-compatible HTTP Tracking API (identify, track, page, screen, alias, group, "
            "batch, import) and ESP webhooks. Authenticate with HTTP Basic auth, the write key "
            "as user name and an empty password (or 'writeKey' in the body). Limits: 32 KB per "
            "call, 500 KB per batch."
        ),
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["*"], max_age=86400)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    def collector(request: Request) -> Collector:
        return request.app.state.collector

    for kind in TYPES:
        def make(kind: str = kind):  # bind the loop variable
            async def call(request: Request) -> Response:
                return await collector(request).ingest(request, f"/v1/{kind}", kind)
            return call
        app.add_api_route(f"/v1/{kind}", make(), methods=["POST"], summary=f"Segment {kind} call",
                          openapi_extra=_body(schema.CALLS[kind].__name__), tags=["tracking"])

    for short, kind in SHORT_PATHS.items():
        def make_short(kind: str = kind):
            async def call(request: Request) -> Response:
                return await collector(request).ingest(request, f"/v1/{kind}", kind)
            return call
        app.add_api_route(f"/v1/{short}", make_short(), methods=["POST"], include_in_schema=False)

    @app.post("/v1/batch", tags=["tracking"], summary="Many calls at once",
              openapi_extra=_body("Batch", "Up to 500 KB; events may be of any type"))
    async def batch(request: Request) -> Response:
        return await collector(request).ingest(request, "/v1/batch", None)

    @app.post("/v1/import", tags=["tracking"], summary="Historical calls (no clock-skew correction, no age limit)",
              openapi_extra=_body("Batch"))
    async def import_(request: Request) -> Response:
        return await collector(request).ingest(request, "/v1/import", None, historical=True)

    @app.post("/v1/webhooks/sendgrid", tags=["webhooks"], summary="SendGrid Event Webhook (signed)")
    async def sendgrid(request: Request) -> Response:
        return await collector(request).webhook(request, "sendgrid")

    @app.post("/v1/webhooks/generic", tags=["webhooks"], summary="Generic ESP events (HMAC-signed)",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookEvent"}}}}}})
    async def generic(request: Request) -> Response:
        return await collector(request).webhook(request, "generic")

    @app.get("/v1/projects/{write_key}/settings", include_in_schema=False)
    async def project_settings(write_key: str, request: Request) -> Response:
        """What analytics.js fetches from its CDN: send everything to this collector."""
        host = request.headers.get("host", "127.0.0.1")
        return _json(200, {"integrations": {"Segment.io": {
            "apiKey": write_key, "apiHost": f"{host}/v1", "protocol": request.url.scheme,
        }}, "plan": {"track": {"__default": {"enabled": True}}}})

    @app.get("/tailor.js", tags=["snippet"], summary="The website snippet")
    async def snippet() -> Response:
        text = resources.files("tailor.collect").joinpath("static/tailor.js").read_text()
        return Response(text, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def metrics_page() -> Response:
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    return app
