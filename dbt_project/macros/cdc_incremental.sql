-- The cdc_incremental materialization: staging models over the CDC change
-- log, updated incrementally yet always as fresh as the log.
--
-- Two relations per model:
--   * `<model>__state`, a table: the model's typed rows plus tombstones of
--     deleted keys and the last truncate (meta columns from
--     cdc_meta_columns()). Each run applies only the changes landed after
--     its watermark, by key (`_pk`): a later change (source_lsn,
--     landing_id) replaces the row, an earlier one is ignored, a truncate
--     drops everything landed before it. The watermark is the whole change
--     log's highest landing_id when the state was last brought up to date
--     (kept in the table's comment, `cdc_applied_through=N`), not the
--     highest one of this table: a table that rarely changes (devices,
--     products) would otherwise have every later query walk the log from
--     its last change, past all other tables' changes since.
--   * `<model>`, a view: the state table with the changes landed since the
--     run applied on top (the same SQL with the new watermark, which the
--     planner sees as a literal, so right after a run it reads the state
--     table and an empty index range of raw.cdc_events). What send-time
--     views (contactability, int_customers_identified) rely on: a consent
--     withdrawn after the build is visible before the next one.
--
-- The model's compiled SQL (cdc_current_state, watermark 0, no upper bound)
-- is the whole current state; the literals are substituted here. A run reads
-- the log's highest landing_id first and applies up to it, so a change
-- landing meanwhile is left to the view's tail, never in both. A full refresh,
-- a missing state table or a change in the model's columns rebuilds the
-- state from the whole log. Changing how an existing column is computed
-- needs `dbt build --full-refresh -s <model>`, as for any incremental model.
--
-- Assumes changes land in landing_id order (one capture at a time, see
-- tailor.cdc.capture): a watermark never skips a change committed later
-- with a smaller landing_id.
{% macro cdc_with_watermark(sql, watermark, upper_bound=none) -%}
    {%- set sql = modules.re.sub('/\\*cdc_watermark\\*/ \\d+', '/*cdc_watermark*/ ' ~ (watermark | int), sql) -%}
    {%- if upper_bound is not none -%}
        {%- set sql = modules.re.sub(
            '/\\*cdc_upper_watermark\\*/ \\d+', '/*cdc_upper_watermark*/ ' ~ (upper_bound | int), sql) -%}
    {%- endif -%}
    {{- return(sql) -}}
{%- endmacro %}


{#- How far the state table has applied the log: its comment, or (a state
    table from before the comment) the highest landing_id it holds. -#}
{% macro cdc_applied_through(state) -%}
    {{- return(cdc_scalar(
        "select coalesce(substring(obj_description('" ~ state ~ "'::regclass, 'pg_class') "
        ~ "from 'cdc_applied_through=([0-9]+)')::bigint, "
        ~ "(select coalesce(max(_landing_id), 0) from " ~ state ~ "))")) -}}
{%- endmacro %}


{% macro cdc_state_relation(relation) -%}
    {{- return(relation.incorporate(path={'identifier': relation.identifier ~ '__state'}, type='table')) -}}
{%- endmacro %}


{% macro cdc_scalar(query) -%}
    {%- set result = run_query(query) -%}
    {{- return(result.columns[0].values()[0]) -}}
{%- endmacro %}


{% macro cdc_column_names(relation) -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(column.name) -%}
    {%- endfor -%}
    {{- return(names) -}}
{%- endmacro %}


{% materialization cdc_incremental, adapter='postgres' %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set state = cdc_state_relation(this) -%}
    {%- set new_state = make_intermediate_relation(state) -%}
    {%- set old_state = make_backup_relation(state, 'table') -%}
    {%- set batch = make_temp_relation(state, '__cdc_batch') -%}
    {%- set existing = load_cached_relation(this) -%}

    {{ drop_relation_if_exists(load_cached_relation(new_state)) }}
    {{ drop_relation_if_exists(load_cached_relation(old_state)) }}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set state_exists = cdc_scalar("select to_regclass('" ~ state ~ "') is not null") -%}
    {%- set log_high = cdc_scalar("select coalesce(max(landing_id), 0) from " ~ source('shop', 'cdc_events')) -%}
    {%- set rebuild = should_full_refresh() or not state_exists -%}
    {%- set applied = 0 if rebuild else cdc_applied_through(state) -%}
    {%- if applied > log_high -%}
        {{ log(this ~ ": the change log is behind the state (reloaded?), rebuilding the state from it", info=True) }}
        {%- set rebuild = true -%}
    {%- endif -%}
    {%- if not rebuild -%}
        {%- call statement('batch') -%}
            create temporary table {{ batch }} as (
                {{ cdc_with_watermark(sql, applied, log_high) }}
            )
        {%- endcall -%}
        {%- set columns = cdc_column_names(batch) -%}
        {%- if columns != cdc_column_names(state) -%}
            {{ log(this ~ ": columns changed, rebuilding the state from the whole change log", info=True) }}
            {%- set rebuild = true -%}
        {%- endif -%}
    {%- endif -%}

    {%- if rebuild -%}
        {%- call statement('main') -%}
            {{ get_create_table_as_sql(False, new_state, cdc_with_watermark(sql, 0, log_high)) }}
        {%- endcall -%}
        {%- for index in config.get('indexes', default=[]) -%}
            {%- call statement('index') -%}{{ get_create_index_sql(new_state, index) }}{%- endcall -%}
        {%- endfor -%}
        {%- call statement('analyze') -%}analyze {{ new_state }}{%- endcall -%}
        {%- if state_exists -%}
            {{ adapter.rename_relation(state, old_state) }}
        {%- endif -%}
        {{ adapter.rename_relation(new_state, state) }}
        {%- set columns = cdc_column_names(state) -%}
    {%- else -%}
        {%- set column_list = columns | join(', ') -%}
        {%- call statement('main') -%}
            -- a truncate erases every row landed before it (tombstones included)
            delete from {{ state }}
            where _landing_id < (select max(_landing_id) from {{ batch }} where _op = 't');

            -- a later change of a key replaces its row
            delete from {{ state }} as state
            using {{ batch }} as batch
            where batch._pk = state._pk
                and (batch._source_lsn, batch._landing_id) > (state._source_lsn, state._landing_id);

            -- rows left for a key are later than the batch's: the batch's is ignored
            insert into {{ state }} ({{ column_list }})
            select {{ column_list }}
            from {{ batch }} as batch
            where not exists (select 1 from {{ state }} as state where state._pk = batch._pk);
        {%- endcall -%}
    {%- endif -%}
    {%- call statement('applied_through') -%}
        comment on table {{ state }} is 'cdc_applied_through={{ log_high | int }}'
    {%- endcall -%}

    {#- The view: state rows no later change supersedes, plus the later changes themselves. -#}
    {%- set watermark = log_high -%}
    {%- set view_columns = [] -%}
    {%- for column in columns -%}
        {%- do view_columns.append(column) -%}
    {%- endfor -%}
    {%- set view_sql -%}
        with

        tail as materialized (

            {{ cdc_with_watermark(sql, watermark) }}

        ),

        truncated as (

            select exists (select 1 from tail where _op = 't') as since_watermark

        ),

        -- keys a later change in the tail replaces: a join the planner drives
        -- from the (small) tail, then a hashed NOT IN; as a NOT EXISTS on the
        -- state the planner hashed the whole state table instead
        superseded as (

            select state._pk
            from {{ state }} as state
            inner join tail
                on tail._pk = state._pk
            where (tail._source_lsn, tail._landing_id) > (state._source_lsn, state._landing_id)

        )

        select {{ view_columns | join(', ') }}
        from {{ state }} as state
        where state._op in ('c', 'u', 'r')
            and not (select since_watermark from truncated)
            -- no null in superseded (an equi-join's keys), so NOT IN is exact
            and state._pk not in (select superseded._pk from superseded)

        union all

        select {{ view_columns | join(', ') }}
        from tail
        where tail._op in ('c', 'u', 'r')
            and ((select since_watermark from truncated) or not exists (
                select 1 from {{ state }} as state
                where state._pk = tail._pk
                    and (state._source_lsn, state._landing_id) > (tail._source_lsn, tail._landing_id)
            ))
    {%- endset -%}
    {%- set replace_in_place = existing is not none and existing.is_view
        and cdc_column_names(existing) == view_columns -%}
    {%- if existing is not none and not replace_in_place -%}
        {#- other columns, or a table from an earlier materialization: dependants
            (views) go with it and are rebuilt later in the run -#}
        {{ drop_relation_if_exists(existing) }}
    {%- endif -%}
    {%- call statement('view') -%}
        create or replace view {{ target_relation }} as (
            {{ view_sql }}
        )
    {%- endcall -%}
    {%- if state_exists and rebuild -%}
        {{ drop_relation_if_exists(old_state) }}
    {%- endif -%}

    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {%- do adapter.commit() -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
