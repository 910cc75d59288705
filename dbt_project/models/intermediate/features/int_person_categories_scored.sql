-- How much each person is into each product category, inferred from what
-- they did up to as_of: product views, cart adds (web events with a
-- product) and purchases (revenue order lines). One row per person and
-- category they touched.
--
--     affinity_points = w_view * views + w_cart * cart adds + w_purchase * purchases
--
-- where each count is time-decayed (weight halves every
-- category_affinity_half_life_days, kept as of the decay epoch) and the weights are the
-- category_affinity_weights var: buying says more than looking.
-- affinity_share is the points over the person's total (their categories sum
-- to 1); affinity_rank 1 is their top category (ties: touched last, then by
-- name). Categories are the product's own (leaf) category, like
-- favourite_category.
--
-- Incremental per person (macros/person_increments.sql): the
-- decayed counts and affinity_points are kept as of the decay epoch, so only
-- an event or purchase entering "up to as_of" moves them; affinity_share
-- and affinity_rank do not depend on the epoch at all.
{%- set half_life = var('category_affinity_half_life_days') %}
{%- set weights = var('category_affinity_weights') %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin(
            [['int_web_events_stitched', 'occurred_at'], ['int_order_items_categorised', 'ordered_at', 'person_id']],
            [0],
            [var('category_affinity_half_life_days'), var('category_affinity_weights')]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of, {{ decay_epoch() }} as epoch

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

web_events as (

    select customer_id, product_id, event_type, occurred_at from {{ ref('int_web_events_stitched') }}
    where customer_id is not null
        and product_id is not null
        and event_type in ('product_view', 'add_to_cart')
        and {{ persons_increment_records('customer_id', 'customers') }}

),

order_items as (

    select person_id, category_name, ordered_at from {{ ref('int_order_items_categorised') }}
    where person_id is not null
        and is_revenue
        and category_name is not null
        and {{ persons_increment_filter('person_id') }}

),

products as (

    select product_id, category_id from {{ ref('stg_shop__products') }}

),

categories as (

    select category_id, category_name from {{ ref('stg_shop__categories') }}

),

-- per person and product first: the per-event work (one decay term) touches
-- only the event and customer tables, and the catalogue joins below see one
-- row per product a person touched instead of every event (the grouping
-- also keeps the planner from joining events to the catalogue views first)
browsing_by_product as (

    select
        customers.person_id,
        web_events.product_id,
        count(*) filter (where web_events.event_type = 'product_view') as product_views,
        count(*) filter (where web_events.event_type = 'add_to_cart') as add_to_carts,
        coalesce(sum({{ decay_at_epoch('web_events.occurred_at', half_life, 'run.epoch') }})
            filter (where web_events.event_type = 'product_view'), 0) as product_views_decayed,
        coalesce(sum({{ decay_at_epoch('web_events.occurred_at', half_life, 'run.epoch') }})
            filter (where web_events.event_type = 'add_to_cart'), 0) as add_to_carts_decayed,
        max(web_events.occurred_at) as last_touched_at
    from web_events
    cross join run
    inner join customers
        on web_events.customer_id = customers.customer_id
    where web_events.occurred_at <= run.as_of
    group by customers.person_id, web_events.product_id

),

-- materialized: the catalogue is a few hundred rows, read through the
-- staging views (state plus change-log tail). Inlined, an incremental run
-- (a thousand persons, grouped rows estimated at one) joined it in a nested
-- loop that recomputed the views per browsed product: 0.37 s of a 0.6 s
-- node at 100k customers, 0.12 s with it computed once
product_categories as materialized (

    select
        products.product_id,
        categories.category_name
    from products
    inner join categories
        on products.category_id = categories.category_id

),

browsing as (

    select
        browsing_by_product.person_id,
        product_categories.category_name,
        sum(browsing_by_product.product_views) as product_views,
        sum(browsing_by_product.add_to_carts) as add_to_carts,
        sum(browsing_by_product.product_views_decayed) as product_views_decayed,
        sum(browsing_by_product.add_to_carts_decayed) as add_to_carts_decayed,
        max(browsing_by_product.last_touched_at) as last_touched_at
    from browsing_by_product
    inner join product_categories
        on browsing_by_product.product_id = product_categories.product_id
    group by browsing_by_product.person_id, product_categories.category_name

),

purchases as (

    select
        order_items.person_id,
        order_items.category_name,
        count(*) as purchases,
        sum({{ decay_at_epoch('order_items.ordered_at', half_life, 'run.epoch') }}) as purchases_decayed,
        max(order_items.ordered_at) as last_touched_at
    from order_items
    cross join run
    where order_items.ordered_at <= run.as_of
    group by order_items.person_id, order_items.category_name

),

combined as (

    select
        coalesce(browsing.person_id, purchases.person_id) as person_id,
        coalesce(browsing.category_name, purchases.category_name) as category_name,
        coalesce(browsing.product_views, 0) as product_views,
        coalesce(browsing.add_to_carts, 0) as add_to_carts,
        coalesce(purchases.purchases, 0) as purchases,
        {{ weights['product_view'] }} * coalesce(browsing.product_views_decayed, 0)
        + {{ weights['add_to_cart'] }} * coalesce(browsing.add_to_carts_decayed, 0)
        + {{ weights['purchase'] }} * coalesce(purchases.purchases_decayed, 0) as affinity_points,
        greatest(browsing.last_touched_at, purchases.last_touched_at) as last_touched_at
    from browsing
    full outer join purchases
        on browsing.person_id = purchases.person_id
        and browsing.category_name = purchases.category_name

),

scored as (

    select
        person_id,
        category_name,
        product_views,
        add_to_carts,
        purchases,
        round(affinity_points::numeric, 4) as affinity_points,
        round((affinity_points / nullif(sum(affinity_points) over (partition by person_id), 0))::numeric, 4) as affinity_share,
        row_number() over (
            partition by person_id order by affinity_points desc, last_touched_at desc, category_name
        ) as affinity_rank,
        last_touched_at,
        (select epoch from run) as decay_epoch
    from combined

)

select * from scored
