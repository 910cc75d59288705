-- Web and email activity per person in the activity window before as_of
-- (var activity_window_days), plus the last time we saw them at all.
-- Web events include anonymous ones stitched to a customer through their
-- anonymous id or device (int_web_events_stitched).
with

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}

),

web_events as (

    select * from {{ ref('int_web_events_stitched') }}
    where customer_id is not null
        and occurred_at <= {{ as_of() }}

),

email_events as (

    select * from {{ ref('stg_shop__email_events') }}
    where customer_id is not null
        and occurred_at <= {{ as_of() }}

),

web_by_person as (

    select
        customers.person_id,
        count(*) filter (where web_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as web_events_30d,
        count(*) filter (where web_events.event_type = 'page_view' and web_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as page_views_30d,
        count(*) filter (where web_events.event_type = 'product_view' and web_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as product_views_30d,
        count(*) filter (where web_events.event_type = 'add_to_cart' and web_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as add_to_carts_30d,
        count(distinct web_events.session_id) filter (where web_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as sessions_30d,
        max(web_events.occurred_at) as last_web_event_at,
        max(web_events.occurred_at) filter (where web_events.event_type = 'add_to_cart') as last_add_to_cart_at
    from web_events
    inner join customers
        on web_events.customer_id = customers.customer_id
    group by customers.person_id

),

email_by_person as (

    select
        customers.person_id,
        count(*) filter (where email_events.event_type = 'open' and email_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as email_opens_30d,
        count(*) filter (where email_events.event_type = 'click' and email_events.occurred_at > {{ as_of() }} - interval '{{ var("activity_window_days") }} days') as email_clicks_30d,
        max(email_events.occurred_at) filter (where email_events.is_engagement) as last_email_engagement_at
    from email_events
    inner join customers
        on email_events.customer_id = customers.customer_id
    group by customers.person_id

),

persons as (

    select distinct person_id from customers

),

aggregated as (

    select
        persons.person_id,
        coalesce(web_by_person.web_events_30d, 0) as web_events_30d,
        coalesce(web_by_person.page_views_30d, 0) as page_views_30d,
        coalesce(web_by_person.product_views_30d, 0) as product_views_30d,
        coalesce(web_by_person.add_to_carts_30d, 0) as add_to_carts_30d,
        coalesce(web_by_person.sessions_30d, 0) as sessions_30d,
        coalesce(email_by_person.email_opens_30d, 0) as email_opens_30d,
        coalesce(email_by_person.email_clicks_30d, 0) as email_clicks_30d,
        web_by_person.last_web_event_at,
        web_by_person.last_add_to_cart_at,
        email_by_person.last_email_engagement_at
    from persons
    left join web_by_person
        on persons.person_id = web_by_person.person_id
    left join email_by_person
        on persons.person_id = email_by_person.person_id

)

select * from aggregated
