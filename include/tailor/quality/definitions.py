"""The quality gate's GX objects: datasource, assets, suites, checkpoint.

They live as files in the GX file context (``include/gx/``) and are
committed; this module is how those files were made and how they are
re-made when missing (a fresh clone, a new suite). Existing files are never
overwritten, so the committed JSON stays the reviewed source of truth and
re-runs cause no churn in git.

The warehouse password never reaches a file: the datasource's connection
string is the config variable ``${TAILOR_GX_WAREHOUSE_URL}``, which
:func:`tailor.quality.gate.run_gate` sets in the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

DATASOURCE = "warehouse"
URL_VARIABLE = "TAILOR_GX_WAREHOUSE_URL"
CHECKPOINT = "tailor_gate"
BATCH = "whole_table"

# Matches dbt's email_regex() macro (dbt_project/macros/email.sql).
EMAIL_REGEX = r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"

# Freshness, fed by capture's own lag figures (raw.cdc_runs, see
# tailor.cdc.runs): `captured_through_epoch` is the newest succeeded capture
# run's captured_through — the source commit time up to which everything the
# shop committed is in raw (heartbeats move it on a quiet shop) — checked
# against a per-run threshold (`min_captured_epoch`). Without any succeeded
# run (raw loaded by other means), the newest landing time stands in.
# `lag_bytes` is the newest run's slot lag (WAL the warehouse has not
# confirmed), checked against `max_lag_bytes`; 0 when nothing captures.
# GX wants a query asset to start with SELECT: subqueries, not CTEs.
FRESHNESS_QUERY = """
select
    extract(epoch from coalesce(
        (
            select runs.captured_through from raw.cdc_runs as runs
            where runs.status = 'succeeded' and runs.captured_through is not null
            order by runs.run_id desc limit 1
        ),
        (select max(events.landed_at) from raw.cdc_events as events)
    ))::double precision as captured_through_epoch,
    coalesce(
        (select runs.lag_bytes from raw.cdc_runs as runs order by runs.run_id desc limit 1),
        0
    )::double precision as lag_bytes,
    (select count(*) from raw.cdc_events) as landed_rows
""".strip()

# No audience row unless the person's latest email_marketing decision
# (across all their customer records) is 'granted'. Checked against the
# staging views, i.e. the consent state at gate time, independent of how the
# audience model decided.
CONSENT_QUERY = """
with latest_decision as (
    select distinct on (resolved.person_id)
        resolved.person_id,
        consents.status
    from intermediate.int_customers_resolved as resolved
    inner join staging.stg_shop__consents as consents
        on consents.customer_id = resolved.customer_id
    where consents.purpose = 'email_marketing'
    order by resolved.person_id, consents.recorded_at desc, consents.is_granted asc
)
select audience.person_id, audience.email, latest_decision.status as consent_status
from {batch} as audience
left join latest_decision
    on latest_decision.person_id = audience.person_id
where latest_decision.status is distinct from 'granted'
""".strip()

# name -> (schema, table or None for a query asset, query)
ASSETS: dict[str, tuple[str, str | None, str | None]] = {
    "customer_profiles": ("marts", "customer_profiles", None),
    "sync_email__audience": ("marts", "sync_email__audience", None),
    "raw_landing": ("raw", None, FRESHNESS_QUERY),
}


def _suites() -> dict[str, tuple[str, list[Any]]]:
    """suite name -> (asset it validates, expectations)."""
    import great_expectations.expectations as gxe

    scores = [
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=1, max_value=5)
        for column in ("r_score", "f_score", "m_score")
    ]
    return {
        "customer_profiles": ("customer_profiles", [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="person_id"),
            gxe.ExpectColumnValuesToBeUnique(column="person_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
            *scores,
        ]),
        "email_audience": ("sync_email__audience", [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeUnique(column="person_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
            gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX),
        ]),
        "email_audience_consent": ("sync_email__audience", [
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=CONSENT_QUERY,
                description="Every audience member's latest email_marketing consent is 'granted'",
            ),
        ]),
        "raw_freshness": ("raw_landing", [
            gxe.ExpectColumnValuesToNotBeNull(column="captured_through_epoch"),
            gxe.ExpectColumnMinToBeBetween(
                column="captured_through_epoch",
                min_value={"$PARAMETER": "min_captured_epoch"},
            ),
            gxe.ExpectColumnMaxToBeBetween(
                column="lag_bytes",
                max_value={"$PARAMETER": "max_lag_bytes"},
            ),
        ]),
    }


SUITES = ("customer_profiles", "email_audience", "email_audience_consent", "raw_freshness")


def ensure_definitions(context: AbstractDataContext) -> None:
    """Create whatever GX object is missing from the file context; keep the rest."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        datasource = context.data_sources.add_postgres(
            name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}"
        )

    for name, (schema, table, query) in ASSETS.items():
        try:
            asset = datasource.get_asset(name)
        except LookupError:
            if table is not None:
                asset = datasource.add_table_asset(name=name, table_name=table, schema_name=schema)
            else:
                asset = datasource.add_query_asset(name=name, query=query)
        if BATCH not in [b.name for b in asset.batch_definitions]:
            asset.add_batch_definition_whole_table(BATCH)

    existing_suites = {suite.name for suite in context.suites.all()}
    existing_definitions = {vd.name for vd in context.validation_definitions.all()}
    definitions = []
    for suite_name, (asset_name, expectations) in _suites().items():
        if suite_name not in existing_suites:
            suite = gx.ExpectationSuite(name=suite_name)
            for expectation in expectations:
                suite.add_expectation(expectation)
            context.suites.add(suite)
        if suite_name not in existing_definitions:
            batch = datasource.get_asset(asset_name).get_batch_definition(BATCH)
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=context.suites.get(suite_name))
            )
        definitions.append(context.validation_definitions.get(suite_name))

    if CHECKPOINT not in {cp.name for cp in context.checkpoints.all()}:
        context.checkpoints.add(
            gx.Checkpoint(
                name=CHECKPOINT,
                validation_definitions=definitions,
                actions=[UpdateDataDocsAction(name="update_data_docs")],
                result_format={"result_format": "SUMMARY"},
            )
        )
