-- ---- int_web_events_stitched, incrementally (macros/increments.sql) ----
--
-- An event's row depends on the event itself and, when it carries no
-- customer of its own, on its anonymous id's stitching inputs: the
-- identified events of that anonymous id (which customer it was last seen
-- with), its row in shop.anonymous_ids (the device it lives on) and that
-- device's rows in shop.customer_devices (whether one customer owns it).
-- The shop only ever inserts web events, so a run recomputes the new ones
-- and the anonymous events of the anonymous ids whose inputs changed; an
-- event with its own customer never changes once written.

-- What the model's rows depend on besides the data: its SQL. A change
-- recomputes every row on the next run.
{% macro stitching_fingerprint() -%}
    {{- local_md5(model.raw_code) -}}
{%- endmacro %}


-- The anonymous ids whose stitching may have changed in the window
-- (increment_window), as a SELECT of one column, `anonymous_id text`,
-- distinct and never null:
--   * seen on a new identified web event (it may now be "last seen with"
--     another customer); an anonymous event changes no one's stitching;
--   * their shop.anonymous_ids row changed (created, moved to another
--     device, deleted);
--   * they live on a device whose shop.customer_devices rows changed (its
--     owners, hence whether exactly one customer owns it). The device's
--     anonymous ids come from the current stg_shop__anonymous_ids: one that
--     moved off the device in the window is in the list above already.
-- Empty when the window's `since` is null (no window: everything is
-- recomputed). Needs the temp table increment_window; a model using it
-- outside a hook must depend on stg_shop__anonymous_ids.
{% macro stitching_affected_anonymous_ids_sql() -%}
    select anonymous_id
    from (
        select nullif(events.after ->> 'anonymous_id', '') as anonymous_id
        from {{ increment_events(['web_events']) }} as events
        where nullif(events.after ->> 'customer_id', '') is not null
        union
        select events.pk ->> 'anonymous_id'
        from {{ increment_events(['anonymous_ids']) }} as events
        union
        select anonymous_ids.anonymous_id
        from {{ ref('stg_shop__anonymous_ids') }} as anonymous_ids
        where anonymous_ids.device_id in (
            select events.pk ->> 'device_id'
            from {{ increment_events(['customer_devices']) }} as events
        )
    ) as affected
    where anonymous_id is not null
{%- endmacro %}


-- Pre-hook: the change window; the anonymous ids whose stitching may have
-- changed (stitching_affected_anonymous_ids); the events to recompute
-- (stitching_recomputed_events: the window's new web events and the
-- anonymous events of those anonymous ids, from this table); then their
-- rows go. Every row is recomputed instead (and every row goes) after a
-- truncate of web_events, anonymous_ids or customer_devices, or when a web
-- event was changed, deleted or re-read: the shop only ever inserts them,
-- and the log keeps only the key of a deleted row, so whose anonymous id
-- it was is lost.
{% macro stitching_increment_begin() -%}
    {{ increment_window(stitching_fingerprint()) }}
    {%- if is_incremental() %}
    update increment_window set since = null
    where exists (
        select 1
        from {{ increment_events(['web_events', 'anonymous_ids', 'customer_devices']) }} as events
        where events.op = 't' or (events.source_table = 'web_events' and events.op <> 'c')
    );
    drop table if exists pg_temp.stitching_affected_anonymous_ids;
    create temp table stitching_affected_anonymous_ids on commit drop as
        {{ stitching_affected_anonymous_ids_sql() }};
    analyze stitching_affected_anonymous_ids;
    drop table if exists pg_temp.stitching_recomputed_events;
    create temp table stitching_recomputed_events on commit drop as
        select (events.pk ->> 'event_id')::bigint as web_event_id
        from {{ increment_events(['web_events']) }} as events
        union
        select this.web_event_id
        from {{ this }} as this
        where this.anonymous_id in (select anonymous_id from stitching_affected_anonymous_ids)
            and this.stitched_by is distinct from 'event';
    analyze stitching_recomputed_events;
    -- two statements, not one with an `or`: a condition on the window alone
    -- is checked once, so the usual run never scans the whole table
    delete from {{ this }}
    where (select since from increment_window) is null;
    delete from {{ this }}
    where web_event_id = any(array(select web_event_id from stitching_recomputed_events));
    {%- endif %}
{%- endmacro %}
