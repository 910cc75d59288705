"""Render one person's email (subject, preheader, HTML and plain text).

Templates run in Jinja's *sandboxed* environment: they are edited by
marketers, not reviewed like code, so they must not reach Python internals.
HTML is autoescaped (a first name like ``<script>`` stays text) and its CSS is
inlined with ``css-inline`` because most mail clients ignore ``<style>``.
Undefined names fail loudly (``StrictUndefined``) and ``None`` renders as
nothing, so a typo becomes that row's failure instead of "Hi None".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from tailor.content.campaign import Campaign, CampaignError, load_campaign
from tailor.content.tokens import fallback, is_missing, money, name_case, present


class TemplateRenderError(RuntimeError):
    """A template failed for one person; the caller records it as that row's failure."""


@dataclass(frozen=True)
class RenderedEmail:
    """Everything the message builder needs from the content layer."""

    subject: str
    preheader: str
    html: str
    text: str
    unsubscribe_url: str | None = None


def _finalize(value: Any) -> Any:
    # None must never print as 'None'; missing words are the template's job (fallback).
    return "" if value is None else value


def _build_env(templates_dir: Path, autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fallback=fallback, name_case=name_case, money=money)
    env.tests.update(present=present, missing=is_missing)
    return env


@lru_cache(maxsize=8)
def environments(templates_dir: Path) -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    """(html, text) environments for a templates folder, built once per process."""
    return _build_env(templates_dir, autoescape=True), _build_env(templates_dir, autoescape=False)


@lru_cache(maxsize=256)
def _inline_template(env: SandboxedEnvironment, source: str) -> Template:
    """Subject/preheader/URL patterns compiled once per run, not once per recipient."""
    return env.from_string(source)


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # No network: templates must not pull stylesheets from the internet at send time.
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)


def _segment_key(segment: Any) -> str:
    """A segment name safe to use in a template path ('At Risk' -> 'at_risk')."""
    return (
        re.sub(r"[^a-z0-9_]+", "_", str(segment or "default").strip().lower()).strip("_")
        or "default"
    )


def default_templates_dir() -> Path:
    from tailor.config import get_settings

    return get_settings().templates_dir


def render_email(
    person: Mapping[str, Any],
    campaign: Campaign | str,
    *,
    extra: Mapping[str, Any] | None = None,
    templates_dir: Path | None = None,
) -> RenderedEmail:
    """Render ``campaign`` for one audience row.

    ``extra`` adds context the content layer cannot know (e.g. the
    ``unsubscribe_token`` the export assigns). Raises
    :class:`TemplateRenderError` naming the person and template on any
    template problem, so one broken row never stops a send.
    """
    templates_dir = templates_dir or default_templates_dir()
    person_id = person.get("person_id", "?")
    try:
        if isinstance(campaign, str):
            campaign = load_campaign(campaign, templates_dir)
        html_env, text_env = environments(templates_dir)
        segment = person.get("segment")
        context: dict[str, Any] = {
            "unsubscribe_token": "preview",
            **person,
            "campaign": campaign.name,
            "brand": campaign.brand,
            "segment_key": _segment_key(segment),
            **(extra or {}),
        }
        unsubscribe_url = _inline_template(text_env, campaign.unsubscribe_url).render(context).strip()
        context["unsubscribe_url"] = unsubscribe_url
        subject = " ".join(
            _inline_template(text_env, campaign.subject_for(segment)).render(context).split()
        )
        preheader = " ".join(
            _inline_template(text_env, campaign.preheader_for(segment)).render(context).split()
        )
        context.update(subject=subject, preheader=preheader)
        html = html_env.get_template(f"{campaign.template}.html.j2").render(context)
        text = text_env.get_template(f"{campaign.template}.txt.j2").render(context)
        html = _inliner().inline(html)
    except (TemplateRenderError, CampaignError):
        raise
    except jinja2.TemplateError as exc:
        where = (
            f" ({exc.name}, line {exc.lineno})"
            if isinstance(exc, jinja2.TemplateSyntaxError)
            else ""
        )
        raise TemplateRenderError(
            f"template error for person {person_id}{where}: {type(exc).__name__}: {exc}. "
            "Fix the template or campaign YAML, then re-run: rows already sent are not sent again."
        ) from exc
    except Exception as exc:  # a sandbox violation, a bad filter argument, CSS inlining...
        raise TemplateRenderError(
            f"rendering failed for person {person_id}: {type(exc).__name__}: {exc}"
        ) from exc
    if not subject:
        raise TemplateRenderError(
            f"empty subject for person {person_id}: give the subject a fallback token"
        )
    return RenderedEmail(
        subject=subject,
        preheader=preheader,
        html=html,
        text=_tidy_text(text),
        unsubscribe_url=unsubscribe_url or None,
    )


def _tidy_text(text: str) -> str:
    """Collapse runs of blank lines left by skipped blocks in the plain-text part."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
