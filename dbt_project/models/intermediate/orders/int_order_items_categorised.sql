-- Order lines with their product, category and the ordering person: what
-- category preferences are computed from.
with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('int_orders_attributed') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

categories as (

    select * from {{ ref('stg_shop__categories') }}

),

joined as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.line_no,
        orders.person_id,
        orders.ordered_at,
        orders.is_revenue,
        order_items.product_id,
        products.product_name,
        products.category_id,
        categories.category_name,
        order_items.quantity,
        order_items.unit_price,
        order_items.line_total
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join products
        on order_items.product_id = products.product_id
    left join categories
        on products.category_id = categories.category_id

)

select * from joined
