-- Purchase history per person as of the run: the raw RFM inputs, order
-- value and the favourite category. Only orders that count as revenue
-- (not cancelled or refunded) and placed up to as_of are considered.
with

orders as (

    select * from {{ ref('int_orders_attributed') }}
    where person_id is not null
        and is_revenue
        and ordered_at <= {{ as_of() }}

),

order_items as (

    select * from {{ ref('int_order_items_categorised') }}
    where person_id is not null
        and is_revenue
        and ordered_at <= {{ as_of() }}

),

order_facts as (

    select
        person_id,
        count(*) as frequency,
        sum(order_total) as monetary,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by person_id

),

category_spend as (

    select
        person_id,
        category_name,
        row_number() over (
            partition by person_id
            order by sum(line_total) desc, sum(quantity) desc, category_name
        ) as category_rank
    from order_items
    where category_name is not null
    group by person_id, category_name

),

aggregated as (

    select
        order_facts.person_id,
        order_facts.frequency,
        order_facts.monetary,
        round(order_facts.monetary / order_facts.frequency, 2) as average_order_value,
        order_facts.first_order_at,
        order_facts.last_order_at,
        ({{ as_of() }})::date - order_facts.last_order_at::date as recency_days,
        favourite.category_name as favourite_category
    from order_facts
    left join category_spend as favourite
        on order_facts.person_id = favourite.person_id
        and favourite.category_rank = 1

)

select * from aggregated
