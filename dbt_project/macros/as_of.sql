-- The instant a run computes "as of", as a timestamptz SQL expression.
--
-- Models never call now(): re-running a DAG run must give the same marts.
-- Airflow passes its logical date in the environment variable TAILOR_AS_OF
-- (tailor's dbt runner does the same with an `as_of` it is given); the dbt
-- var `as_of` (`dbt build --vars '{as_of: ...}'`) wins over it. An
-- environment variable rather than a var because dbt re-parses the whole
-- project when any var changes, seconds on every run of a DAG whose as_of
-- changes every run. The variable is read only when nodes execute, never
-- while parsing: as_of is a value in the compiled SQL, not part of the
-- graph, and an environment variable read at parse time would make dbt
-- re-parse every file using it whenever it changes (0.5 s more on each
-- invocation, each Airflow task). It also keeps the graph the same either
-- way: every caller depends on stg_shop__cdc_watermarks. Neither set (a
-- manual `dbt build`): the latest source commit time landed in raw, so a
-- historical data set is scored as of its own end, not as of today.
{% macro as_of() -%}
    {%- set given = var('as_of', none) or (env_var('TAILOR_AS_OF', '') if execute else '') -%}
    {%- if given -%}
        '{{ given }}'::timestamptz
    {%- else -%}
        (
            select coalesce(max(last_source_ts), '{{ run_started_at.isoformat() }}'::timestamptz)
            from {{ ref('stg_shop__cdc_watermarks') }}
        )
    {%- endif -%}
{%- endmacro %}
