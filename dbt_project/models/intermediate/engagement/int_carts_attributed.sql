-- Carts with their person, contents and value, and whether the person has
-- ordered since the cart was last touched (what makes a cart abandoned).
with

carts as (

    select * from {{ ref('stg_shop__carts') }}
    where customer_id is not null
        and updated_at <= {{ as_of() }}

),

cart_items as (

    select * from {{ ref('stg_shop__cart_items') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}

),

last_orders as (

    select person_id, max(ordered_at) as last_ordered_at
    from {{ ref('int_orders_attributed') }}
    where person_id is not null
        and ordered_at <= {{ as_of() }}
    group by person_id

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
