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
{% test constraints_hold(model) %}
    {{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
    {%- if not execute -%}
        {{ return('select null::text as failed_constraint, 0 as failing_rows') }}
    {%- endif -%}
    {%- set node = tailor_model_node(model) -%}
    {%- set checks = [] -%}
    {%- for column in node.columns.values() -%}
        {%- for constraint in column.constraints -%}
            {%- do checks.extend(tailor_constraint_checks(constraint, [column.name], node)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for constraint in node.constraints -%}
        {%- do checks.extend(tailor_constraint_checks(constraint, constraint.columns or [], node)) -%}
    {%- endfor -%}
    {%- if not checks -%}
        {{ exceptions.raise_compiler_error("constraints_hold on " ~ node.name ~ ": the YAML declares no constraints to check") }}
    {%- endif %}
    with counts as (
        select
        {%- for label, failures in checks %}
            {{ failures }} as check_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
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

