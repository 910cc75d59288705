"""Campaign definitions: which template, and the subject/preheader per segment.

A campaign is a YAML file in ``include/templates/campaigns/<name>.yml`` so a
marketer can change a subject line without touching Python. Subjects and
preheaders are small Jinja templates with the same tokens as the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class CampaignError(ValueError):
    """A campaign file is missing or malformed."""


@dataclass(frozen=True)
class Campaign:
    """One campaign: its template and per-segment subject lines and preheaders."""

    name: str
    template: str  # e.g. 'email/weekly' -> email/weekly.html.j2 + email/weekly.txt.j2
    subjects: Mapping[str, str]
    preheaders: Mapping[str, str]
    default_subject: str
    default_preheader: str = ""
    unsubscribe_url: str = "https://shop.example/unsubscribe?t={{ unsubscribe_token }}"
    unsubscribe_mailto: str | None = None
    brand: Mapping[str, Any] = field(default_factory=dict)

    def subject_for(self, segment: str | None) -> str:
        """The subject template of a segment, else the campaign's default."""
        return self.subjects.get(segment or "", self.default_subject)

    def preheader_for(self, segment: str | None) -> str:
        """The preheader template of a segment, else the campaign's default."""
        return self.preheaders.get(segment or "", self.default_preheader)


def _variants(raw: Any, what: str, path: Path) -> tuple[dict[str, str], str | None]:
    if raw is None:
        return {}, None
    if not isinstance(raw, Mapping):
        raise CampaignError(
            f"{path}: '{what}' must map segment names to text, e.g. {what}: {{default: ...}}"
        )
    variants = {str(k): str(v) for k, v in raw.items() if v is not None}
    return variants, variants.pop("default", None)


def load_campaign(name: str, templates_dir: Path) -> Campaign:
    """Read ``campaigns/<name>.yml`` under ``templates_dir``."""
    path = templates_dir / "campaigns" / f"{name}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in (templates_dir / "campaigns").glob("*.yml"))
        raise CampaignError(
            f"No campaign '{name}': {path} does not exist. Known campaigns: {', '.join(known) or 'none'}. "
            "Add a YAML file there (see campaigns/weekly.yml)."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CampaignError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise CampaignError(f"{path}: expected a mapping at the top level")
    subjects, default_subject = _variants(data.get("subjects"), "subjects", path)
    preheaders, default_preheader = _variants(data.get("preheaders"), "preheaders", path)
    if not default_subject:
        raise CampaignError(
            f"{path}: 'subjects' needs a 'default' entry used for segments without their own"
        )
    template = data.get("template")
    if not template:
        raise CampaignError(f"{path}: 'template' is required, e.g. template: email/{name}")
    optional = {k: data[k] for k in ("unsubscribe_url", "unsubscribe_mailto") if data.get(k)}
    return Campaign(
        name=str(data.get("name") or name),
        template=str(template),
        subjects=subjects,
        preheaders=preheaders,
        default_subject=default_subject,
        default_preheader=default_preheader or "",
        brand=dict(data.get("brand") or {}),
        **optional,
    )
