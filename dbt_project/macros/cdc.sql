-- Reading the CDC change log (raw.cdc_events).
--
-- One landing table feeds every staging model: cdc_current_state() turns the
-- change log of one shop table into its current state, as one row per
-- primary key with the row image in `record` (jsonb). The latest change per
-- key wins, ordered by (source_lsn, landing_id); keys whose latest change is
-- a delete disappear; a truncate erases every change of that table landed
-- before it.
{% macro cdc_current_state(table_name) -%}
    select
        latest.record,
        latest.source_lsn as _source_lsn,
        latest.source_ts as _source_ts,
        latest.landed_at as _landed_at
    from (
        -- distinct on (not row_number() = 1): the planner then estimates
        -- one row per key instead of a fraction of the change log, which
        -- keeps joins between staging views on hash joins
        select distinct on (events.pk)
            events.after as record,
            events.op,
            events.source_lsn,
            events.source_ts,
            events.landed_at
        from {{ source('shop', 'cdc_events') }} as events
        where events.source_table = '{{ table_name }}'
            and events.op in ('c', 'u', 'd', 'r')
            and events.landing_id > coalesce((
                select max(truncates.landing_id)
                from {{ source('shop', 'cdc_events') }} as truncates
                where truncates.source_table = '{{ table_name }}'
                    and truncates.op = 't'
            ), 0)
        order by events.pk, events.source_lsn desc, events.landing_id desc
    ) as latest
    where latest.op <> 'd'
{%- endmacro %}


-- A typed column out of the row image: `cdc_field('order_total', 'numeric')`.
{% macro cdc_field(column_name, data_type='text') -%}
    nullif(record ->> '{{ column_name }}', '')::{{ data_type }}
{%- endmacro %}


-- A jsonb column of the shop arrives either as a JSON object or as a JSON
-- string holding the object (Debezium's io.debezium.data.Json): both become jsonb.
{% macro cdc_jsonb(column_name) -%}
    case jsonb_typeof(record -> '{{ column_name }}')
        when 'string' then (record ->> '{{ column_name }}')::jsonb
        when 'null' then '{}'::jsonb
        else coalesce(record -> '{{ column_name }}', '{}'::jsonb)
    end
{%- endmacro %}
