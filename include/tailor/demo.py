"""`tailor demo`: from nothing to personalized emails, and a report to look at.

db up -> seed -> capture -> transform -> quality gate -> export, each step real
(PostgreSQL, Debezium, dbt, Great Expectations, SMTP), run through Airflow.
The summary answers what a newcomer asks: how much data is in each layer,
which segments exist and how big they are, did the gate pass, where are the
emails and the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader

from tailor.config import Settings, get_settings
from tailor.db.connect import connect
from tailor.runner import DagRunResult

# What "rows per layer" counts: the tables a person recognises in each layer.
LAYER_TABLES = {
    "shop (source)": ["public.customers", "public.orders", "public.web_events", "public.email_events", "public.consents"],
    "raw": ["raw.cdc_events"],
    "staging": ["staging.stg_shop__customers", "staging.stg_shop__orders", "staging.stg_shop__web_events"],
    "marts": ["marts.customer_profiles", "marts.segment_memberships", "marts.segment_assignments", "marts.sync_email__audience"],
}


@dataclass
class DemoSummary:
    logical_date: datetime
    seed: dict
    runs: list[DagRunResult]
    layers: dict[str, dict[str, int | None]] = field(default_factory=dict)
    segments: list[dict] = field(default_factory=list)
    gate: list[dict] = field(default_factory=list)
    emails: list[Path] = field(default_factory=list)
    outbox: Path | None = None
    csv_dir: Path | None = None
    data_docs: Path | None = None
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.state == "success" for r in self.runs)


def _count(conn, table: str) -> int | None:
    schema, name = table.split(".")
    exists = conn.execute("select to_regclass(%s)", (table,)).fetchone()[0]
    if exists is None:
        return None
    return conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]


def collect_layers(settings: Settings) -> dict[str, dict[str, int | None]]:
    layers: dict[str, dict[str, int | None]] = {}
    for layer, tables in LAYER_TABLES.items():
        database = "shop" if layer.startswith("shop") else "warehouse"
        with connect(database, settings) as conn:  # type: ignore[arg-type]
            layers[layer] = {t.split(".")[1]: _count(conn, t) for t in tables}
    return layers


def collect_segments(settings: Settings) -> list[dict]:
    with connect("warehouse", settings) as conn:
        if conn.execute("select to_regclass('marts.segment_memberships')").fetchone()[0] is None:
            return []
        rows = conn.execute(
            """
            with members as (
                select segment, count(*) as members from marts.segment_memberships group by 1
            ), assigned as (
                select segment, count(*) as assigned from marts.segment_assignments group by 1
            ), audience as (
                select segment, count(*) as audience from marts.sync_email__audience group by 1
            )
            select m.segment, m.members, coalesce(a.assigned, 0), coalesce(u.audience, 0)
            from members m
            left join assigned a using (segment)
            left join audience u using (segment)
            order by m.members desc
            """
        ).fetchall()
    return [{"segment": s, "members": m, "assigned": a, "audience": u} for s, m, a, u in rows]


def _sample_per_segment(paths: list[Path]) -> list[dict]:
    """The first email of each segment, so a reader sees every variant once."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    samples: dict[str, dict] = {}
    for path in paths:
        message = parser.parsebytes(path.read_bytes())
        segment = message["X-Tailor-Segment"] or "default"
        if segment in samples:
            continue
        html = message.get_body(preferencelist=("html",))
        samples[segment] = {
            "segment": segment,
            "to": message["To"],
            "subject": message["Subject"],
            "html": html.get_content() if html else "",
        }
    return list(samples.values())


def write_report(summary: DemoSummary, settings: Settings) -> Path:
    """A single self-contained HTML page (inline SVG charts, no network needed)."""
    env = Environment(loader=PackageLoader("tailor", "reports"), autoescape=True)
    samples = _sample_per_segment(summary.emails)
    page = env.get_template("demo.html.j2").render(summary=summary, samples=samples, generated=datetime.now())
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    target = settings.reports_dir / "demo.html"
    target.write_text(page)
    return target


def summarise(
    logical_date: datetime, seed: dict, runs: list[DagRunResult], settings: Settings | None = None
) -> DemoSummary:
    """Gather what happened from the warehouse and the file system."""
    settings = settings or get_settings()
    summary = DemoSummary(logical_date=logical_date, seed=seed, runs=runs)
    summary.layers = collect_layers(settings)
    summary.segments = collect_segments(settings)
    day = logical_date.strftime("%Y-%m-%d")
    summary.outbox = settings.outbox_dir / day
    summary.emails = sorted(summary.outbox.glob("*.eml")) if summary.outbox.exists() else []
    summary.csv_dir = settings.exports_dir / day
    docs = settings.gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"
    summary.data_docs = docs if docs.exists() else None
    summary.report = write_report(summary, settings)
    return summary
