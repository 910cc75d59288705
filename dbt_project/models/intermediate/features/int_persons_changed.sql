-- Which persons' features may have changed, and when: one row per person id
-- the person map has issued, with the change-log position (changed_through)
-- of the last run that found a change for them. The person-grain feature
-- models recompute the persons changed after their own last run
-- (macros/person_increments.sql).
--
-- A person changed when
--   * their records changed: a record joined, left, was deleted or is new
--     (members_md5, a fingerprint of the person's customer ids, differs from
--     the stored one), or the person is new or gone (is_current);
--   * one of their records was edited (the change log has the customer
--     row): an email, a name, a city the profile shows;
--   * the orders attributed to them changed (orders_md5): a guest order
--     re-attributed through its email key, an order moved between records;
--   * the change log (since this model's last run) has a change of theirs:
--     a new web or email event of one of their records, an order or order
--     line of theirs added or changed, a stitching change that may move
--     anonymous events (an anonymous id seen on a new event, a changed
--     anonymous id or device link: every customer holding an event with
--     that anonymous id is marked, which covers the old and the new owner).
-- Every person is marked instead after a truncate, when a web or email event
-- was updated, deleted or re-read (the log keeps only a deleted row's key,
-- so whose it was is lost; the shop only ever inserts them), when an
-- anonymous id was deleted, or when devices, products or
-- categories changed (they reach every person who used them).
-- Incremental: a run writes only the persons it marks.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        indexes=[{'columns': ['changed_through']}],
        pre_hook="{{ persons_changed_begin() }}",
        post_hook="{{ increment_window_close(local_md5(model.raw_code)) }}"
    )
}}
-- depends_on: {{ ref('int_web_events_stitched') }}
-- depends_on: {{ ref('stg_shop__anonymous_ids') }}

with

memberships as (

    select
        person_id,
        md5(string_agg(customer_id::text, ',' order by customer_id)) as members_md5
    from {{ ref('int_customers_resolved') }}
    group by person_id

),

attributed_orders as (

    select
        person_id,
        md5(string_agg(order_id::text, ',' order by order_id)) as orders_md5
    from {{ ref('int_orders_attributed') }}
    where person_id is not null
    group by person_id

),

current_persons as (

    select
        memberships.person_id,
        memberships.members_md5,
        attributed_orders.orders_md5
    from memberships
    left join attributed_orders
        on memberships.person_id = attributed_orders.person_id

),

{%- if is_incremental() %}

-- customer records with a change of their own in the window
logged_customers as (

    select (events.after ->> 'customer_id')::bigint as customer_id
    from {{ increment_events(['web_events', 'email_events']) }} as events
    where events.op = 'c'
        and events.after ->> 'customer_id' is not null

    union

    -- an edited record: what the profile shows of it (a deleted or new one
    -- changes members_md5)
    {{ increment_changed_keys('customers', 'customer_id', 'bigint') }}

    union

    -- a changed device link moves the anonymous events on that device
    {{ increment_changed_keys('customer_devices', 'customer_id', 'bigint') }}

    union

    -- = any(array(...)): an index condition on anonymous_id (as a semi-join
    -- the planner hashed all stitched web events)
    select stitched.customer_id
    from {{ ref('int_web_events_stitched') }} as stitched
    where stitched.customer_id is not null
        and stitched.anonymous_id = any(array(select anonymous_id from persons_changed_anonymous_ids))

),

logged_orders as (

    -- orders and order lines both carry order_id in their key (a deleted
    -- order's person comes from orders_md5)
    select (events.pk ->> 'order_id')::bigint as order_id
    from {{ increment_events(['orders', 'order_items']) }} as events
    where events.op in ('c', 'u', 'd')

),

logged_persons as (

    select person_id
    from {{ ref('int_customers_resolved') }}
    where customer_id in (select customer_id from logged_customers)

    union

    select person_id
    from {{ ref('int_orders_attributed') }}
    where order_id in (select order_id from logged_orders)
        and person_id is not null

),

compared as (

    select
        coalesce(current_persons.person_id, stored.person_id) as person_id,
        current_persons.members_md5,
        current_persons.orders_md5,
        current_persons.person_id is not null as is_current,
        stored.changed_through,
        (select since from increment_window) is null
            or stored.person_id is null
            or current_persons.person_id is null and stored.is_current
            or current_persons.members_md5 is distinct from stored.members_md5
            or current_persons.orders_md5 is distinct from stored.orders_md5
            or coalesce(current_persons.person_id, stored.person_id) in (select person_id from logged_persons)
            as has_changed
    from current_persons
    full outer join {{ this }} as stored
        on current_persons.person_id = stored.person_id

),

final as (

    select
        person_id,
        members_md5,
        orders_md5,
        is_current,
        (select upto from increment_window) as changed_through
    from compared
    where has_changed

)

{%- else %}

final as (

    select
        person_id,
        members_md5,
        orders_md5,
        true as is_current,
        (select upto from increment_window) as changed_through
    from current_persons

)

{%- endif %}

select * from final
