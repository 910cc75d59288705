"""The Segment Tracking API shapes, as pydantic models for the OpenAPI document.

These models only describe the API (``/openapi.json``, ``/docs``): requests
are read as raw bytes and checked by :mod:`tailor.collect.normalize`, so a
malformed event is quarantined with a precise reason instead of being turned
into a generic 422 by the framework. Extra fields are allowed everywhere, as
in Segment's spec.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Context(_Open):
    """Where the call came from; ``consent.categoryPreferences.Analytics: false`` opts out."""

    userAgent: str | None = None
    timezone: str | None = Field(None, description="IANA zone, e.g. Europe/Berlin")
    locale: str | None = Field(None, description="e.g. de-DE (its country is kept as coarse location)")
    page: dict[str, Any] | None = Field(None, description="url, referrer, path, title")
    location: dict[str, Any] | None = Field(None, description="country, region, city")
    device: dict[str, Any] | None = Field(None, description="id (app installs), type")
    library: dict[str, Any] | None = None
    consent: dict[str, Any] | None = Field(None, description="categoryPreferences: {Analytics: bool}")
    sessionId: str | None = None


class Common(_Open):
    """Fields every call may carry. One of ``userId`` / ``anonymousId`` is required."""

    userId: str | int | None = None
    anonymousId: str | int | None = None
    messageId: str | None = Field(None, description="De-duplicates re-sent events")
    timestamp: str | None = Field(None, description="ISO-8601; corrected for clock skew with sentAt")
    originalTimestamp: str | None = None
    sentAt: str | None = None
    context: Context | None = None
    integrations: dict[str, Any] | None = None


class Identify(Common):
    type: Literal["identify"] | None = None
    traits: dict[str, Any] | None = Field(None, description="email links the user to a shop customer")


class Track(Common):
    type: Literal["track"] | None = None
    event: str = Field(description="A Segment e-commerce spec name (e.g. 'Product Viewed') or a configured custom name")
    properties: dict[str, Any] | None = None


class Page(Common):
    type: Literal["page"] | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None


class Screen(Page):
    type: Literal["screen"] | None = None  # type: ignore[assignment]


class Alias(Common):
    type: Literal["alias"] | None = None
    previousId: str | int


class Group(Common):
    type: Literal["group"] | None = None
    groupId: str | int
    traits: dict[str, Any] | None = None


class Batch(_Open):
    """``/v1/batch`` and ``/v1/import``: up to 500 KB, each event up to 32 KB."""

    batch: list[dict[str, Any]] = Field(description="Events, each with its 'type'")
    sentAt: str | None = None
    context: Context | None = None
    integrations: dict[str, Any] | None = None
    writeKey: str | None = Field(None, description="Alternative to Basic auth")


class Accepted(BaseModel):
    """Segment answers ``{"success": true}``; Tailor adds what became of the events."""

    success: bool = True
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    withheld: int = Field(0, description="Dropped because the context denied analytics consent")


class Problem(BaseModel):
    """A refused request: what was wrong and what to do."""

    success: bool = False
    code: str
    message: str


class WebhookEvent(_Open):
    """One event of the generic ESP webhook format."""

    id: str
    email: str
    type: Literal["sent", "delivered", "open", "click", "bounce", "dropped", "spam_report", "unsubscribe"]
    timestamp: str | int | float
    campaign_id: str | None = None
    url: str | None = None
    reason: str | None = None


class WebhookResultModel(BaseModel):
    success: bool = True
    stored: int = 0
    duplicates: int = 0
    suppressed: int = 0
    ignored: int = 0
    quarantined: int = 0


CALLS: dict[str, type[BaseModel]] = {
    "identify": Identify,
    "track": Track,
    "page": Page,
    "screen": Screen,
    "alias": Alias,
    "group": Group,
}
