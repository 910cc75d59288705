-- The instant a run computes "as of", as a timestamptz SQL expression.
--
-- Models never call now(): re-running a DAG run must give the same marts.
-- Airflow passes its logical date as the `as_of` var; left unset (a manual
-- `dbt build`), it is the latest source commit time landed in raw, so a
-- historical data set is scored as of its own end, not as of today.
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        '{{ var("as_of") }}'::timestamptz
    {%- else -%}
        (
            select coalesce(max(last_source_ts), '{{ run_started_at.isoformat() }}'::timestamptz)
            from {{ ref('stg_shop__cdc_watermarks') }}
        )
    {%- endif -%}
{%- endmacro %}
