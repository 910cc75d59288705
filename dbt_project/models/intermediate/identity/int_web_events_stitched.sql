-- Every web event with the customer it belongs to, anonymous ones included
-- (anonymous-to-known stitching).
--
-- An event the shop or the collector already attributed keeps its customer.
-- An anonymous event is stitched through its anonymous id: first to the
-- customer that same anonymous id was last seen with on an identified event
-- (an identify, alias or logged-in call), else to the one customer known to
-- use the device the anonymous id lives on. Devices shared by several
-- customers stitch nothing (that would be a guess).
with

web_events as (

    select * from {{ ref('stg_shop__web_events') }}

),

anonymous_ids as (

    select * from {{ ref('stg_shop__anonymous_ids') }}

),

customer_devices as (

    select * from {{ ref('stg_shop__customer_devices') }}

),

seen_with_customer as (

    select distinct on (anonymous_id)
        anonymous_id,
        customer_id
    from web_events
    where anonymous_id is not null
        and customer_id is not null
    order by anonymous_id, occurred_at desc, web_event_id desc

),

single_owner_devices as (

    select
        device_id,
        min(customer_id) as customer_id
    from customer_devices
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
