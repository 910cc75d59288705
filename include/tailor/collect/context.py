"""What the collector learns from an event's ``context`` at ingest.

Device type, OS and browser come from the user agent through ``ua-parser``
(the maintained port of the uap-core regexes) rather than hand-written
patterns: user agents change every month and uap-core keeps up. Parsing costs
about a millisecond, and a site sends the same few hundred user agents over
and over, so results are cached.

Location is coarse on purpose: country (and region/city only when the sender
already put them in ``context.location``). The IP address is never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

_TABLET_FAMILIES = re.compile(r"ipad|tablet|kindle|playbook|nexus (7|9|10)|sm-t\d", re.I)
_MOBILE_OS = {"ios", "android", "windows phone", "blackberry os", "kaios", "harmonyos"}
_TIMEZONES = frozenset(available_timezones())
_LOCALE = re.compile(r"^[a-zA-Z]{2,3}(?:[-_]([a-zA-Z]{2}|\d{3}))?")


@dataclass(frozen=True)
class Device:
    """Device facts the shop's ``devices`` table keeps."""

    device_type: str  # 'desktop' | 'mobile' | 'tablet' | 'bot'
    os: str | None
    browser: str | None


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> Device:
    """Classify a user agent; unknown desktop-like agents count as 'desktop'."""
    from ua_parser import parse

    result = parse(user_agent[:1024])
    os_family = result.os.family if result.os and result.os.family != "Other" else None
    browser = result.user_agent.family if result.user_agent and result.user_agent.family != "Other" else None
    device_family = (result.device.family if result.device else "") or ""
    if device_family == "Spider":
        kind = "bot"
    elif _TABLET_FAMILIES.search(device_family) or (
        os_family == "Android" and "Mobile" not in user_agent
    ):
        kind = "tablet"
    elif (os_family or "").lower() in _MOBILE_OS or "Mobile" in user_agent:
        kind = "mobile"
    else:
        kind = "desktop"
    return Device(kind, os_family, browser)


def device_from_context(context: dict[str, Any]) -> Device:
    """An app's device (no user agent): its OS from ``context.os``, its type from the OS."""
    os_ctx = context.get("os")
    name = os_ctx.get("name") if isinstance(os_ctx, dict) else None
    os_name = name.strip()[:60] if isinstance(name, str) and name.strip() else None
    kind = "mobile" if (os_name or "").lower() in _MOBILE_OS else "desktop"
    return Device(kind, os_name, None)


def timezone_of(context: dict[str, Any]) -> str | None:
    """``context.timezone`` if it names a real IANA zone (analytics.js sends it)."""
    value = context.get("timezone")
    return value if isinstance(value, str) and value in _TIMEZONES else None


def coarse_location(context: dict[str, Any]) -> dict[str, str]:
    """Country/region/city from ``context.location``, else the country of ``context.locale``."""
    found: dict[str, str] = {}
    location = context.get("location")
    if isinstance(location, dict):
        for key in ("country", "region", "city"):
            value = location.get(key)
            if isinstance(value, str) and value.strip():
                found[key] = value.strip()[:80]
    if "country" not in found:
        locale = context.get("locale")
        match = _LOCALE.match(locale) if isinstance(locale, str) else None
        if match and match.group(1) and match.group(1).isalpha():
            found["country"] = match.group(1).upper()
    return found


def language_of(context: dict[str, Any]) -> str | None:
    """The language part of ``context.locale`` ('de-DE' -> 'de')."""
    locale = context.get("locale")
    match = _LOCALE.match(locale) if isinstance(locale, str) else None
    return match.group(0)[:3].split("-")[0].split("_")[0].lower() if match else None


# Segment's Consent Management: context.consent.categoryPreferences maps
# category -> bool. Categories that cover storing behavioural data:
_ANALYTICS_CATEGORIES = ("analytics", "performance", "measurement", "c0002", "statistics")


def analytics_denied(context: dict[str, Any]) -> bool:
    """True when the event says its sender refused analytics tracking.

    Recognised: ``context.consent.categoryPreferences`` (Segment),
    ``context.consent.analytics`` and ``context.consent = {'analytics': false}``
    style flags, and a Global Privacy Control / Do-Not-Track flag the snippet
    passes as ``context.consent.gpc``. Anything absent means "no statement",
    which the collector treats as allowed (the site decides whether to send).
    """
    consent = context.get("consent")
    if not isinstance(consent, dict):
        return False
    if consent.get("gpc") is True:
        return True
    prefs = consent.get("categoryPreferences")
    sources = [prefs] if isinstance(prefs, dict) else []
    sources.append(consent)
    for source in sources:
        for key, value in source.items():
            if isinstance(key, str) and key.lower() in _ANALYTICS_CATEGORIES and value is False:
                return True
    return False
