-- Every web event with the customer it belongs to, anonymous ones included
-- (anonymous-to-known stitching).
--
-- An event the shop or the collector already attributed keeps its customer.
-- An anonymous event is stitched through its anonymous id: first to the
-- customer that same anonymous id was last seen with on an identified event
-- (an identify, alias or logged-in call), else to the one customer known to
-- use the device the anonymous id lives on. Devices shared by several
-- customers stitch nothing (that would be a guess).
--
-- Incremental: a run recomputes only the window's new web events and the
-- anonymous events of the anonymous ids whose stitching inputs changed
-- since the last one (a new identified event, their anonymous_ids row, the
-- customer_devices rows of their device; read from the change log, see
-- stitching_increment_begin in macros/stitching.sql, which also deletes
-- their old rows). Who an anonymous id was last seen with is looked up for
-- those anonymous ids only, among the recomputed events and this table's
-- identified ones (index on anonymous_id). A truncate, a changed or deleted
-- web event, or a change of this SQL recomputes everything. The person-grain
-- features look events up by customer and by time (the events crossing a
-- window edge as as_of moves, macros/person_increments.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='web_event_id',
        on_schema_change='fail',
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['anonymous_id']},
            {'columns': ['occurred_at']},
        ],
        pre_hook="{{ stitching_increment_begin() }}",
        post_hook="{{ increment_window_close(stitching_fingerprint()) }}"
    )
}}

with

web_events as (

    select * from {{ ref('stg_shop__web_events') }}
    {%- if is_incremental() %}
    where (select since from increment_window) is null

    union all

    -- by key (the staging state's unique index): `= any(array(...))` is a
    -- condition the planner pushes into the staging view
    select * from {{ ref('stg_shop__web_events') }}
    where _pk = any(array(
        select jsonb_build_object('event_id', web_event_id) from stitching_recomputed_events
    ))
    {%- endif %}

),

{%- if is_incremental() %}

-- the anonymous ids stitching is looked up for: those of the anonymous
-- events recomputed
lookup_anonymous_ids as (

    select distinct anonymous_id
    from web_events
    where customer_id is null
        and anonymous_id is not null

),
{%- endif %}

anonymous_ids as (

    select * from {{ ref('stg_shop__anonymous_ids') }}
    {%- if is_incremental() %}
    where _pk = any(array(
        select jsonb_build_object('anonymous_id', anonymous_id) from lookup_anonymous_ids
    ))
    {%- endif %}

),

customer_devices as (

    select * from {{ ref('stg_shop__customer_devices') }}

),

identified_events as (

    select anonymous_id, customer_id, occurred_at, web_event_id
    from web_events
    where anonymous_id is not null
        and customer_id is not null
    {%- if is_incremental() %}

    union all

    -- the identified events of this table not recomputed (the pre-hook
    -- deleted those that are): an event's own customer never changes
    select this.anonymous_id, this.customer_id, this.occurred_at, this.web_event_id
    from {{ this }} as this
    where this.anonymous_id = any(array(select anonymous_id from lookup_anonymous_ids))
        and this.stitched_by = 'event'
    {%- endif %}

),

seen_with_customer as (

    select distinct on (anonymous_id)
        anonymous_id,
        customer_id
    from identified_events
    order by anonymous_id, occurred_at desc, web_event_id desc

),

single_owner_devices as (

    select
        device_id,
        min(customer_id) as customer_id
    from customer_devices
    {%- if is_incremental() %}
    where device_id in (select device_id from anonymous_ids)
    {%- endif %}
    group by device_id
    having count(distinct customer_id) = 1

),

by_device as (

    select
        anonymous_ids.anonymous_id,
        single_owner_devices.customer_id
    from anonymous_ids
    inner join single_owner_devices
        on anonymous_ids.device_id = single_owner_devices.device_id

),

stitched as (

    select
        web_events.web_event_id,
        coalesce(
            web_events.customer_id, seen_with_customer.customer_id, by_device.customer_id
        ) as customer_id,
        case
            when web_events.customer_id is not null then 'event'
            when seen_with_customer.customer_id is not null then 'anonymous_id'
            when by_device.customer_id is not null then 'device'
        end as stitched_by,
        web_events.anonymous_id,
        web_events.user_id,
        web_events.device_id,
        web_events.session_id,
        web_events.product_id,
        web_events.order_id,
        web_events.event_type,
        web_events.call_type,
        web_events.source_kind,
        web_events.url,
        web_events.timezone,
        web_events.properties,
        web_events.occurred_at,
        web_events.received_at
    from web_events
    left join seen_with_customer
        on web_events.customer_id is null
        and web_events.anonymous_id = seen_with_customer.anonymous_id
    left join by_device
        on web_events.customer_id is null
        and web_events.anonymous_id = by_device.anonymous_id

)

select * from stitched
