-- New customers: first order within the last `new_customer_days` days.
-- Weight: 1 on the day of the first order, fading to 0 at the window's end.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

members as (

    select
        person_id,
        round(greatest(
            0,
            1 - extract(epoch from (computed_at - first_order_at)) / 86400 / {{ var('new_customer_days') }}
        )::numeric, 4) as weight,
        format('first order %s days ago', computed_at::date - first_order_at::date) as reason
    from profiles
    where first_order_at > computed_at - interval '{{ var("new_customer_days") }} days'
        and first_order_at <= computed_at

)

select * from members
