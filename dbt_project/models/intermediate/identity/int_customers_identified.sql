-- The person of every customer record the shop has right now, for checks
-- that run at send time (contactability) and the build's copy of them.
--
-- A view: a customer who signed up after the last build is not in the
-- person map yet, so it is resolved the way the next build most likely
-- will: to the person already holding its email key (the map + the email
-- rule, guardrails applied), else to the id its own cluster would get
-- (new_person_id: 'p_<customer_id>').
{{ config(materialized='view') }}

with

customers as (

    select customer_id, email, email_normalized, is_valid_email, is_guest, updated_at
    from {{ ref('stg_shop__customers') }}

),

person_map as (

    select * from {{ ref('int_person_map') }}

),

-- one pass over the records: the map's person, and only for a record the
-- map does not have yet, the person holding its email key (a scalar
-- subquery inside the case runs only for those, on the email keys'
-- primary key; the email key's regex for all 100k records, or a second
-- scan of them for the unmapped ones, doubled the view's cost)
looked_up as (

    select
        customers.customer_id,
        customers.email_normalized,
        customers.is_valid_email,
        customers.is_guest,
        customers.updated_at,
        person_map.person_id as mapped_person_id,
        case when person_map.customer_id is null then (
            select persons_by_email.person_id
            from {{ ref('int_email_keys_resolved') }} as persons_by_email
            where persons_by_email.email_key = {{ identity_email_key('customers.email') }}
                and persons_by_email.email_key not in {{ identity_blocked_values() }}
        ) end as email_person_id
    from customers
    left join person_map
        on customers.customer_id = person_map.customer_id

),

identified as (

    select
        customer_id,
        coalesce(mapped_person_id, email_person_id, {{ new_person_id('customer_id') }}) as person_id,
        case
            when mapped_person_id is not null then 'person_map'
            when email_person_id is not null then 'email'
            else 'new'
        end as identified_by,
        -- what the send-time checks read of the record (contactability), so
        -- they need no second read of the records and join with them
        email_normalized,
        is_valid_email,
        is_guest,
        updated_at
    from looked_up

)

select * from identified
