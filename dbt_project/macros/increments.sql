-- Incremental models driven by the change log: what changed since the last run.
--
-- A model built this way keeps, in its table's comment, how far into
-- raw.cdc_events it has applied (`applied_through=N`, the log's highest
-- landing_id when that run started) and a fingerprint of the settings its
-- rows depend on (`config=<md5>`, e.g. identity guardrail vars). Its
-- pre-hook calls increment_window() first: a temp table `increment_window`
-- (dropped at commit) with
--     since   the previous run's mark; null when there is none, the table is
--             new or being fully refreshed, the settings changed, or the
--             mark is beyond the log's end
--     upto    the log's highest landing_id now
-- so the model and its hooks read changes in (since, upto] and the post-hook
-- (increment_window_close) records `upto`. A change landing during the run
-- is above `upto`: the next run takes it. A null `since` means "recompute
-- everything"; each model adds its own reasons (a truncate, an operation it
-- cannot trace back) to that.
{% macro increment_window(fingerprint) -%}
    drop table if exists pg_temp.increment_window;
    create temp table increment_window on commit drop as
    with previous as (
        {%- if is_incremental() %}
        select obj_description('{{ this }}'::regclass, 'pg_class') as comment
        {%- else %}
        select null::text as comment
        {%- endif %}
    )
    , marks as (
        select
            case
                when substring(comment from 'config=([0-9a-f]+)') = '{{ fingerprint }}'
                    then substring(comment from 'applied_through=([0-9]+)')::bigint
            end as applied_through,
            (select coalesce(max(landing_id), 0) from {{ source('shop', 'cdc_events') }}) as upto
        from previous
    )
    select
        -- a mark beyond the log's end (a log restored from an older copy)
        -- would skip changes: recompute everything instead
        case when applied_through <= upto then applied_through end as since,
        upto
    from marks;
    -- its one row known, the planner reads a window's changes by index
    -- range (unanalysed, a join with it scanned the whole change log)
    analyze increment_window;
{%- endmacro %}


{% macro increment_window_close(fingerprint) -%}
    do $$
    begin
        execute format(
            'comment on table %s is %L',
            '{{ this }}',
            'applied_through=' || (select upto from increment_window) || ' config={{ fingerprint }}'
        );
    end
    $$;
{%- endmacro %}


-- The change log's events of the given shop tables landed in the window,
-- as a relation: `select ... from {{ increment_events(['web_events']) }}`.
-- `window`: the temp table holding the window's since/upto
-- (persons_increment for a person-grain model's own marks).
{% macro increment_events(source_tables, window='increment_window') -%}
    (
        select events.*
        from {{ source('shop', 'cdc_events') }} as events
        cross join {{ window }} as w
        where events.source_table in ('{{ source_tables | join("', '") }}')
            and events.landing_id > w.since
            and events.landing_id <= w.upto
    )
{%- endmacro %}


-- The keys of a shop table changed in the window, typed: from the change
-- log's primary-key images (deletes included), e.g.
-- increment_changed_keys('customer_devices', 'customer_id', 'bigint').
{% macro increment_changed_keys(source_table, key, data_type) -%}
    select distinct (events.pk ->> '{{ key }}')::{{ data_type }} as {{ key }}
    from {{ increment_events([source_table]) }} as events
{%- endmacro %}


-- The rows of `relation` an incremental model recomputes: all of them when
-- its pre-hook says so (increment_window.since is null), else those whose
-- `column` is among `keys` (a query), looked up by index: `= any` of an
-- array computed once is an index condition, through a staging view's union
-- with its tail too. Two branches, each behind a condition on the pre-hook's
-- table alone, which Postgres checks once before reading anything: one
-- `where` with an `or` reads every row either way, and an array of every
-- key would be searched row by row. Not incremental: the whole relation.
{% macro increment_rows(relation, column, keys) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where (select since from increment_window) is not null
        and {{ column }} = any(array({{ keys }}))
    union all
    select * from {{ relation }}
    where (select since from increment_window) is null
    {%- endif %}
{%- endmacro %}
