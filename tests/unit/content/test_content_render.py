"""Rendering: per-segment subjects and blocks, fallbacks, escaping, inlined CSS, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tailor.config import PROJECT_ROOT
from tailor.content.campaign import CampaignError, load_campaign
from tailor.content.render import TemplateRenderError, render_email

TEMPLATES = PROJECT_ROOT / "include" / "templates"


def person(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_id": "p1", "email": "anna@example.com", "first_name": "ANNA", "last_name": "schmidt",
        "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin", "segment": "champions",
        "segment_priority": 1, "favourite_category": "shoes", "recency_days": 5, "frequency": 12,
        "monetary": 99.5, "last_order_at": None, "computed_at": None,
    }  # fmt: skip
    row.update(overrides)
    return row


def render(**overrides: Any):  # type: ignore[no-untyped-def]
    return render_email(person(**overrides), "weekly", templates_dir=TEMPLATES)


@pytest.mark.parametrize(
    ("segment", "subject", "html_marker", "text_marker"),
    [
        ("champions", "Anna, early access is yours", "VIP early access", "VIP EARLY ACCESS"),
        ("at_risk", "We miss you, Anna: 15% off inside", "COMEBACK15", "COMEBACK15"),
        (
            "cart_abandoners",
            "Anna, your cart is waiting",
            "Your cart is waiting",
            "YOUR CART IS WAITING",
        ),
        ("new_customers", "Welcome to Tailor Demo Shop, Anna!", "WELCOME2", "WELCOME2"),
        (
            "some_new_segment",
            "Anna, this week&#39;s picks for you",
            "New this week in shoes",
            "NEW THIS WEEK IN SHOES",
        ),
    ],
)
def test_each_segment_gets_its_subject_and_block(
    segment: str, subject: str, html_marker: str, text_marker: str
) -> None:
    email = render(segment=segment)
    assert email.subject == subject.replace("&#39;", "'")
    assert html_marker in email.html
    assert text_marker in email.text
    others = {"VIP early access", "COMEBACK15", "Your cart is waiting", "WELCOME2"} - {html_marker}
    assert not [m for m in others if m in email.html], "another segment's block leaked in"


def test_preheader_is_per_segment_with_default() -> None:
    assert render(segment="at_risk").preheader.startswith("It's been a while")
    assert render(segment="unknown").preheader == "New arrivals in shoes picked for you."
    assert (
        render(segment="unknown", favourite_category=None).preheader
        == "New arrivals picked for you."
    )


@pytest.mark.parametrize("first_name", [None, "", "   "])
def test_missing_first_name_falls_back_everywhere(first_name: str | None) -> None:
    email = render(first_name=first_name, city=None, segment="at_risk")
    assert "Hi there," in email.text
    assert "Hi there," in email.html
    assert email.subject == "We miss you, friend: 15% off inside"
    for part in (email.subject, email.preheader, email.html, email.text):
        assert "None" not in part
        assert "Hi ," not in part


def test_html_is_escaped_and_css_inlined() -> None:
    email = render(first_name="<script>alert(1)</script>")
    assert "<script" not in email.html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html.lower()
    # the greeting's class rule is now a style attribute, and the rule itself is gone
    assert 'class="greeting" style="' in email.html
    assert ".greeting {" not in email.html
    assert "@media" in email.html  # at-rules cannot be inlined and are kept


def test_unsubscribe_token_from_extra() -> None:
    email = render_email(
        person(), "weekly", extra={"unsubscribe_token": "tok123"}, templates_dir=TEMPLATES
    )
    assert email.unsubscribe_url == "https://shop.example/unsubscribe?t=tok123"
    assert "https://shop.example/unsubscribe?t=tok123" in email.text


@pytest.fixture
def broken_templates(tmp_path: Path) -> Path:
    """A copy of the real templates whose at_risk block uses an unknown token."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    (root / "email" / "blocks" / "at_risk.html.j2").write_text("<p>{{ no_such_column }}</p>")
    return root


def test_template_error_is_a_render_error_naming_the_person(broken_templates: Path) -> None:
    with pytest.raises(TemplateRenderError, match=r"person p9.*no_such_column"):
        render_email(
            person(person_id="p9", segment="at_risk"), "weekly", templates_dir=broken_templates
        )
    # other segments still render with the same templates
    assert "VIP" in render_email(person(), "weekly", templates_dir=broken_templates).html


def test_syntax_error_is_a_render_error(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    (root / "email" / "blocks" / "champions.txt.j2").write_text("{% if %}")
    with pytest.raises(TemplateRenderError, match="TemplateSyntaxError"):
        render_email(person(), "weekly", templates_dir=root)


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    (root / "email" / "blocks" / "champions.txt.j2").write_text("{{ ''.__class__.__mro__ }}")
    with pytest.raises(TemplateRenderError):
        render_email(person(), "weekly", templates_dir=root)


def test_campaign_without_default_subject_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "bad.yml").write_text(
        "template: email/weekly\nsubjects:\n  champions: Hi\n"
    )
    with pytest.raises(CampaignError, match="default"):
        load_campaign("bad", tmp_path)
    with pytest.raises(CampaignError, match="Known campaigns: bad"):
        load_campaign("nope", tmp_path)
