-- The constraints a view's YAML declares, checked in one read of the view.
--
-- Tables enforce their contract's constraints as they are built (see
-- macros/contracts.sql). A view cannot: Postgres has no constraints on
-- views, and dbt ignores them there (hence `warn_unsupported: false` on each).
-- A view is recomputed by every test that reads it, so one test per column
-- and rule read the send-time views eight times a build; this one reads the
-- view once and counts, per declared constraint, the rows that break it:
--     not_null     the column is null
--     unique       a non-null value repeats (extra occurrences are counted)
--     primary_key  both of the above
--     check        the expression is false (null passes, as in a table)
-- Model-level constraints take `columns` (unique / primary_key / not_null
-- over several columns) or `expression` (check). One failing row per broken
-- constraint, naming it; the test's failure count is the rows that break
-- them.
--
-- A cdc_incremental view (macros/cdc_incremental.sql) is its state table's
-- rows plus the tail landed after the state's watermark, and Postgres
-- enforces the rules on the state table's rows. So only the tail is read:
-- the view's rows with `_landing_id` above the watermark (the state's rows
-- are all at or below it; the filter reaches the state through its
-- `_landing_id` index, normally an empty range right after a build). A key
-- can repeat in the view only where a tail row is one of its rows (the
-- state's live rows are unique by its partial unique indexes), so each key
-- of the tail is counted in the whole view, an index lookup per key: the
-- same counts as reading the whole view. A state table that does not hold
-- the YAML's constraints (none yet, a rule changed since) gets the whole
-- view checked, as does every other view.
{% test constraints_hold(model) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- if not execute -%}
        {{ return('select null::text as failed_constraint, 0 as failing_rows') }}
    {%- endif -%}
    {%- set node = tailor_model_node(model) -%}
    {%- set rules = tailor_model_rules(node) -%}
    {%- if not rules -%}
        {{ exceptions.raise_compiler_error("constraints_hold on " ~ node.name ~ ": the YAML declares no constraints to check") }}
    {%- endif -%}
    {%- set watermark = none -%}
    {%- if node.config.materialized == 'cdc_incremental' -%}
        {%- set watermark = cdc_enforced_through(node, model) -%}
    {%- endif -%}
    {%- set checks = [] -%}
    {%- for rule in rules -%}
        {%- if watermark is not none and rule.test == 'repeat' -%}
            {%- set matched -%}
                (
                    select coalesce(sum(matches.rows_with_key - 1), 0)::bigint
                    from (
                        select distinct {{ rule.columns | join(', ') }}
                        from tail
                        where {{ tailor_key_complete(rule.columns) }}
                    ) as tail_keys
                    cross join lateral (
                        select count(*) as rows_with_key
                        from {{ model }} as viewed
                        where {% for column in rule.columns -%}
                            viewed.{{ column }} = tail_keys.{{ column }}{{ " and " if not loop.last }}
                        {%- endfor %}
                    ) as matches
                )
            {%- endset -%}
            {%- do checks.append((rule.label, matched)) -%}
        {%- else -%}
            {%- do checks.extend(tailor_constraint_checks([rule])) -%}
        {%- endif -%}
    {%- endfor %}
    with
    {%- if watermark is not none %}

    -- the view's rows the state table (enforcing the rules) does not hold
    tail as materialized (
        select * from {{ model }} where _landing_id > {{ watermark }}
    ),
    {%- endif %}

    counts as (
        -- an aggregate (one row) also when only keys are checked
        select
            count(*) as rows_read,
        {%- for label, failures in checks %}
            {{ failures }} as check_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ 'tail' if watermark is not none else model }}
    )

    select checked.failed_constraint, checked.failing_rows
    from counts
    cross join lateral (values
        {%- for label, failures in checks %}
        ('{{ label | replace("'", "''") }}', check_{{ loop.index }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as checked (failed_constraint, failing_rows)
    where checked.failing_rows > 0
{% endtest %}
