-- Reading the CDC change log (raw.cdc_events).
--
-- One landing table feeds every staging model: cdc_current_state() turns the
-- change log of one shop table into its current state, as one row per
-- primary key with the row image in `record` (jsonb). The latest change per
-- key wins, ordered by (source_lsn, landing_id); keys whose latest change is
-- a delete disappear; a truncate erases every change of that table landed
-- before it.
--
-- Unchanged TOAST columns: PostgreSQL does not write an unchanged out-of-line
-- (TOASTed, > ~2 kB) value to the WAL, so an update's image carries
-- Debezium's marker '__debezium_unavailable_value' for it instead
-- (connector.yml: unavailable.value.placeholder). Such a column takes the
-- latest earlier value of the same key that is not the marker; with none in
-- the log (capture history incomplete) it is null, never the marker text.
-- Only keys whose latest image carries the marker pay for this: finding them
-- costs one filter over the table's updates (the marker only appears in
-- updates), and with none found the joins behind it read nothing.
{% macro cdc_current_state(table_name) -%}
    {%- set marker = '__debezium_unavailable_value' -%}
    {%- set has_marker = "@? '$.* ? (@ == \"" ~ marker ~ "\")'" -%}
    {%- set changes -%}
        select events.*
        from {{ source('shop', 'cdc_events') }} as events
        where events.source_table = '{{ table_name }}'
            and events.op in ('c', 'u', 'd', 'r')
            and events.landing_id > coalesce((
                select max(truncates.landing_id)
                from {{ source('shop', 'cdc_events') }} as truncates
                where truncates.source_table = '{{ table_name }}'
                    and truncates.op = 't'
            ), 0)
    {%- endset %}
    select
        case
            when carried.patch is null then latest.record
            else latest.record || carried.patch
        end as record,
        latest.source_lsn as _source_lsn,
        latest.source_ts as _source_ts,
        latest.landed_at as _landed_at
    from (
        -- distinct on (not row_number() = 1): the planner then estimates
        -- one row per key instead of a fraction of the change log, which
        -- keeps joins between staging views on hash joins
        select distinct on (events.pk)
            events.pk,
            events.after as record,
            events.op,
            events.source_lsn,
            events.source_ts,
            events.landed_at
        from ({{ changes }}) as events
        order by events.pk, events.source_lsn desc, events.landing_id desc
    ) as latest
    left join (
        -- per marked key: {column: latest earlier real value, or null}
        select toasted.pk, jsonb_object_agg(toasted.column_name, toasted.value) as patch
        from (
            select distinct on (marked.pk, marked.column_name)
                marked.pk,
                marked.column_name,
                coalesce(earlier.after -> marked.column_name, 'null'::jsonb) as value
            from (
                -- the latest image of each key that ever had a marked update,
                -- kept if it still carries the marker, one row per marked column
                select candidate.pk, candidate.source_lsn, columns.key as column_name
                from (
                    select distinct on (events.pk) events.pk, events.after, events.source_lsn
                    from ({{ changes }}) as events
                    where events.pk in (
                        select updates.pk
                        from ({{ changes }}) as updates
                        where updates.op = 'u' and updates.after {{ has_marker }}
                    )
                    order by events.pk, events.source_lsn desc, events.landing_id desc
                ) as candidate
                cross join lateral jsonb_each_text(candidate.after) as columns
                where candidate.after {{ has_marker }}
                    and columns.value = '{{ marker }}'
            ) as marked
            left join ({{ changes }}) as earlier
                on earlier.pk = marked.pk
                and earlier.source_lsn < marked.source_lsn
                and earlier.after ? marked.column_name
                and (earlier.after ->> marked.column_name) is distinct from '{{ marker }}'
            order by
                marked.pk, marked.column_name,
                earlier.source_lsn desc nulls last, earlier.landing_id desc nulls last
        ) as toasted
        group by toasted.pk
    ) as carried
        on carried.pk = latest.pk
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


-- The shop columns a staging model reads from the row image, from its SQL:
-- cdc_field('x' ...), cdc_jsonb('x') and record ->> 'x' / record -> 'x'.
-- Used by the cdc_column_present test; empty while parsing.
{% macro cdc_columns_read(model) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.name == model.identifier -%}
            {%- set pattern = "(?:cdc_field|cdc_jsonb)\\(\\s*'(\\w+)'|record\\s*->>?\\s*'(\\w+)'" -%}
            {%- for match in modules.re.findall(pattern, node.raw_code) -%}
                {%- set column = match[0] or match[1] -%}
                {%- if column not in found -%}{%- do found.append(column) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found) -}}
{%- endmacro %}
