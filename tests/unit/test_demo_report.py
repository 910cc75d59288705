"""The demo report: one sample per segment, and nothing from the data unescaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

from tailor.config import load_settings
from tailor.content.render import RenderedEmail
from tailor.demo import DemoSummary, write_report
from tailor.export.message import build_message
from tailor.runner import DagRunResult


def _eml(folder: Path, name: str, segment: str, first_name: str) -> Path:
    rendered = RenderedEmail(
        subject=f"{first_name}, hello", preheader="", unsubscribe_url=None,
        html=f'<!DOCTYPE html><html lang="en"><body><p class="x">Hi {html.escape(first_name)}</p></body></html>',
        text=f"Hi {first_name}",
    )
    message = build_message(
        rendered, to=f"{name}@example.com", to_name=first_name, smtp_from="Shop <s@shop.example>",
        msg_id=f"<{name}@shop.example>", sent_at=datetime(2026, 1, 1, tzinfo=UTC), segment=segment,
    )
    path = folder / f"{name}.eml"
    path.write_bytes(message.as_bytes())
    return path


def test_report_samples_each_segment_once_and_escapes(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    settings = load_settings()
    emails = [
        _eml(tmp_path, "a", "champions", "Ann"),
        _eml(tmp_path, "b", "champions", "Ben"),
        _eml(tmp_path, "c", "at_risk", "<script>alert(1)</script>"),
    ]
    summary = DemoSummary(
        logical_date=datetime(2026, 1, 1, tzinfo=UTC), seed={},
        runs=[DagRunResult("tailor_capture", "success", 1.0, tmp_path / "x.log")],
        segments=[{"segment": "champions", "members": 10, "assigned": 8, "audience": 5}],
        emails=emails,
    )
    page = write_report(summary, settings).read_text()
    assert page.count("srcdoc=") == 2, "one sample per segment"
    assert "<script>alert(1)</script>" not in page, "data is escaped"
    # the email's own quotes must not break out of the srcdoc attribute
    for srcdoc in re.findall(r'srcdoc="([^"]*)"', page):
        assert "<!DOCTYPE html>" in html.unescape(srcdoc)
        assert "&lt;/html&gt;" in srcdoc
