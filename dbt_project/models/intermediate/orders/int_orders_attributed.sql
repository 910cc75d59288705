-- Every order with the person who placed it: through its customer record,
-- or, for guest checkouts, through the checkout email's identity key (same
-- normalisation and guardrails as the identity graph). Orders
-- that match nobody stay, with a null person_id, and say so.
with

orders as (

    -- the shop's columns; the change-log meta columns stay in staging
    select
        order_id,
        customer_id,
        device_id,
        email,
        email_normalized,
        is_valid_email,
        status,
        is_revenue,
        is_guest_order,
        currency,
        order_total,
        ordered_at,
        updated_at
    from {{ ref('stg_shop__orders') }}

),

customers as (

    select * from {{ ref('int_customers_resolved') }}

),

-- the person holding each email key that is an identity edge (a blocked or
-- widely shared address attributes a guest order to nobody)
persons_by_email as (

    select * from {{ ref('int_email_keys_resolved') }}

),

attributed as (

    select
        orders.*,
        coalesce(by_customer.person_id, by_email.person_id) as person_id,
        case
            when by_customer.person_id is not null then 'customer_id'
            when by_email.person_id is not null then 'email'
            else 'unattributed'
        end as attributed_by
    from orders
    left join customers as by_customer
        on orders.customer_id = by_customer.customer_id
    -- the key (a regular expression and string surgery) is computed for
    -- guest orders only: as a join key it was computed for every order,
    -- most of this model's time
    left join persons_by_email as by_email
        on case
            when orders.customer_id is null and orders.is_valid_email
                then {{ identity_email_key('orders.email') }}
        end = by_email.email_key

)

select * from attributed
