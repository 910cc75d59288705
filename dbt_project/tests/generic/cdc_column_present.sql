-- Schema drift guard for staging models over the CDC log: fails when a column
-- the model reads from the row image (cdc_field / cdc_jsonb / record ->> '...')
-- no longer arrives in the change log of its shop table, i.e. the newest
-- change image (insert, update or snapshot read) lacks it. Debezium images
-- carry every column, null or not, so a missing one was dropped or renamed
-- in the shop: the staging model would silently turn it into nulls.
--
-- Declared on a staging model's key column with the shop table:
--     - cdc_column_present:
--         arguments: {source_table: web_events}
-- `columns` (a list) overrides the columns read from the model's SQL.
-- An empty change log passes (nothing says the column is gone).
--
-- The test stops with an error naming the column and the fix, so the
-- message reaches the dbt log, `tailor dbt` summaries and the Airflow task
-- log; without `execute` (parsing) it compiles to a query that finds the
-- same columns.
{% test cdc_column_present(model, column_name, source_table, columns=none) %}
    {%- set wanted = columns if columns is not none else cdc_columns_read(model) -%}
    {%- set check -%}
        with newest as (
            select events.after
            from {{ source('shop', 'cdc_events') }} as events
            where events.source_table = '{{ source_table }}'
                and events.op in ('c', 'u', 'r')
            -- newest by commit position, read backwards from the table's own
            -- end of cdc_events_change_key; by landing_id the planner walks
            -- the whole log's primary key back past every other table's
            -- changes (and past the deletes that carry no image)
            order by events.source_lsn desc
            limit 1
        )
        select
            wanted.column_name,
            'column ' || wanted.column_name || ' of shop.{{ source_table }} no longer arrives '
                || 'in the change log (dropped or renamed?): update {{ model.identifier }}'
                as failure
        from newest
        cross join unnest(array[
            {%- for column in wanted %}'{{ column }}'{{ ", " if not loop.last }}{% endfor -%}
        ]::text[]) as wanted (column_name)
        where not newest.after ? wanted.column_name
        order by wanted.column_name
    {%- endset %}
    {%- if execute and wanted -%}
        {%- set missing = run_query(check) -%}
        {%- if missing.rows | length > 0 -%}
            {{ exceptions.raise_compiler_error(
                missing.columns['failure'].values() | join('; ')
                ~ " (test cdc_column_present on " ~ model.identifier ~ ")"
            ) }}
        {%- endif -%}
    {%- endif %}
    {%- if wanted %}
        {{ check }}
    {%- else %}
        select null::text as column_name, null::text as failure where false
    {%- endif %}
{% endtest %}
