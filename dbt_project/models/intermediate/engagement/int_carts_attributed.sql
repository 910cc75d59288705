-- Carts with their person, contents and value, and whether the person has
-- ordered since the cart was last touched (what makes a cart abandoned).
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the carts of the persons int_persons_changed marked (records, orders, a
-- catalogue change: everyone), of those with a cart or an order crossing
-- "up to as_of", and of those whose carts or cart lines the change log has
-- since this model's last run: the cart's current owner, and the one this
-- table has for it (a cart deleted, or moved to another record). Rebuilt
-- whole, it was about 1 s of every incremental build at 100k customers.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin(
            [['stg_shop__carts', 'updated_at'], ['int_orders_attributed', 'ordered_at', 'person_id']],
            [0],
            logged=[['carts', 'cart_items'], 'cart_id', 'stg_shop__carts']) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
-- depends_on: {{ source('shop', 'cdc_events') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

carts as (

    select carts.*
    from {{ ref('stg_shop__carts') }} as carts
    cross join run
    where carts.customer_id is not null
        and carts.updated_at <= run.as_of
        and {{ persons_increment_records('carts.customer_id', 'customers') }}

),

cart_items as (

    select * from {{ ref('stg_shop__cart_items') }}
    {%- if is_incremental() %}
    where cart_id = any(array(select carts.cart_id from carts))
    {%- endif %}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

last_orders as (

    select orders.person_id, max(orders.ordered_at) as last_ordered_at
    from {{ ref('int_orders_attributed') }} as orders
    cross join run
    where orders.person_id is not null
        and orders.ordered_at <= run.as_of
        and {{ persons_increment_filter('orders.person_id') }}
    group by orders.person_id

),

contents as (

    select
        cart_items.cart_id,
        sum(cart_items.quantity) as item_count,
        sum(cart_items.quantity * products.price) as cart_value
    from cart_items
    left join products
        on cart_items.product_id = products.product_id
    group by cart_items.cart_id

),

attributed as (

    select
        carts.cart_id,
        customers.person_id,
        carts.status,
        carts.is_unconverted,
        carts.created_at,
        carts.updated_at,
        coalesce(contents.item_count, 0) as item_count,
        coalesce(contents.cart_value, 0) as cart_value,
        coalesce(last_orders.last_ordered_at >= carts.updated_at, false) as has_ordered_since
    from carts
    inner join customers
        on carts.customer_id = customers.customer_id
    left join contents
        on carts.cart_id = contents.cart_id
    left join last_orders
        on customers.person_id = last_orders.person_id

)

select * from attributed
