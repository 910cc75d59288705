-- Reading the CDC change log (raw.cdc_events).
--
-- One landing table feeds every staging model: cdc_current_state() turns the
-- change log of one shop table into one row per primary key with the row
-- image in `record` (jsonb). The latest change per key wins, ordered by
-- (source_lsn, landing_id); a truncate erases every change of that table
-- landed before it.
--
-- Incremental: the macro reads only the changes landed after a watermark
-- and up to an upper bound (landing_id), written as the literals
-- `/*cdc_watermark*/ 0` and `/*cdc_upper_watermark*/ 9223372036854775807`.
-- The compiled SQL (0, no bound) is the whole current state; the
-- cdc_incremental materialization (cdc_incremental.sql) substitutes the range
-- its state table has not applied yet to get just the changed keys, and the
-- watermark again to get the "tail" its view adds on top of the state table.
-- So the same text decides the full and the incremental result, which is
-- what keeps them equal.
--
-- Its output, per key changed after the watermark: the latest image, or a
-- tombstone (`_op` = 'd', record null) when that change is a delete; plus,
-- if the table was truncated after the watermark, one row with `_op` = 't'
-- and no key. The materialization applies those; staging views never show
-- tombstones. A model passes the meta columns through with
-- {{ cdc_meta_columns() }} in its select list.
--
-- Unchanged TOAST columns: PostgreSQL does not write an unchanged out-of-line
-- (TOASTed, > ~2 kB) value to the WAL, so an update's image carries
-- Debezium's marker '__debezium_unavailable_value' for it instead
-- (connector.yml: unavailable.value.placeholder). Such a column takes the
-- latest earlier value of the same key that is not the marker, from any
-- change since the table's last truncate (also those before the watermark:
-- the state table keeps typed columns, not the image); with none in the log
-- (capture history incomplete) it is null, never the marker text. Only keys
-- whose latest image carries the marker pay for this: the marker only
-- appears in updates, and with none in the batch the lookups never run.
{% macro cdc_current_state(table_name) -%}
    {%- if execute and model is mapping and 'cdc_meta_columns' not in (model.raw_code or '') -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads the change log with cdc_current_state() but does not select the meta "
            ~ "columns: put {{ cdc_meta_columns() }} in the select list of its renamed CTE (in place "
            ~ "of _landed_at), so the cdc_incremental materialization can apply changes by key.") }}
    {%- endif -%}
    {%- set marker = '__debezium_unavailable_value' -%}
    {%- set has_marker = "@? '$.* ? (@ == \"" ~ marker ~ "\")'" -%}
    {%- set watermark = '/*cdc_watermark*/ 0' -%}
    {%- set upper_bound = '/*cdc_upper_watermark*/ 9223372036854775807' -%}
    {%- set events_of_table -%}
        {{ source('shop', 'cdc_events') }} as events
        where events.source_table = '{{ table_name }}'
    {%- endset -%}
    {%- set last_truncate -%}
        (
            select max(truncates.landing_id)
            from {{ source('shop', 'cdc_events') }} as truncates
            where truncates.source_table = '{{ table_name }}'
                and truncates.op = 't'
                and truncates.landing_id > {{ watermark }}
                and truncates.landing_id <= {{ upper_bound }}
        )
    {%- endset -%}
    {%- set changes -%}
        select events.*
        from {{ events_of_table }}
            and events.op in ('c', 'u', 'd', 'r')
            and events.landing_id > {{ watermark }}
            and events.landing_id <= {{ upper_bound }}
            and events.landing_id > coalesce({{ last_truncate }}, 0)
    {%- endset %}
    select
        case
            when latest.op = 'd' then null
            when carried.patch is null then latest.record
            else latest.record || carried.patch
        end as record,
        latest.pk as _pk,
        latest.op as _op,
        latest.source_lsn as _source_lsn,
        latest.landing_id as _landing_id,
        latest.landed_at as _landed_at
    from (
        -- distinct on (not row_number() = 1): the planner then estimates
        -- one row per key instead of a fraction of the change log
        select distinct on (events.pk)
            events.pk,
            events.after as record,
            events.op,
            events.source_lsn,
            events.landing_id,
            events.landed_at
        from ({{ changes }}) as events
        order by events.pk, events.source_lsn desc, events.landing_id desc
    ) as latest
    left join (
        -- per marked key: {column: latest earlier real value, or null}
        select marked.pk, jsonb_object_agg(marked.column_name, coalesce(earlier.value, 'null'::jsonb)) as patch
        from (
            -- the latest image of each key with a marked update in the
            -- batch, kept if it still carries the marker, one row per column
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
        left join lateral (
            -- any change of the key since the table's last truncate, also
            -- before the watermark
            select events.after -> marked.column_name as value
            from {{ events_of_table }}
                and events.pk = marked.pk
                and events.op in ('c', 'u', 'r')
                and events.source_lsn < marked.source_lsn
                and events.landing_id > coalesce((
                    select max(truncates.landing_id)
                    from {{ source('shop', 'cdc_events') }} as truncates
                    where truncates.source_table = '{{ table_name }}'
                        and truncates.op = 't'
                        and truncates.landing_id <= {{ upper_bound }}
                ), 0)
                and events.after ? marked.column_name
                and (events.after ->> marked.column_name) is distinct from '{{ marker }}'
            order by events.source_lsn desc, events.landing_id desc
            limit 1
        ) as earlier on true
        group by marked.pk
    ) as carried
        on carried.pk = latest.pk

    union all

    -- the last truncate after the watermark, if any: everything before it goes
    select
        null::jsonb as record,
        null::jsonb as _pk,
        truncates.op as _op,
        truncates.source_lsn as _source_lsn,
        truncates.landing_id as _landing_id,
        truncates.landed_at as _landed_at
    from {{ source('shop', 'cdc_events') }} as truncates
    where truncates.landing_id = {{ last_truncate }}
{%- endmacro %}


-- The meta columns a staging model over the change log selects (after its
-- own columns): which key and change its row comes from. The
-- cdc_incremental materialization needs them to apply changes by key.
{% macro cdc_meta_columns() -%}
    _pk,
        _op,
        _source_lsn,
        _landing_id,
        _landed_at
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
