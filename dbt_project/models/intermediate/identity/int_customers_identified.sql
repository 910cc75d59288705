-- The person of every customer record the shop has right now, for checks
-- that run at send time (int_persons_email_consent, contactability).
--
-- A view: a customer who signed up after the last build is not in the
-- person map yet, so it is resolved the way the next build most likely
-- will: to the person already holding its email key (the map + the email
-- rule, guardrails applied), else to the id its own cluster would get
-- (new_person_id: 'p_<customer_id>').
{{ config(materialized='view') }}

with

customers as (

    select
        customer_id,
        {{ identity_email_key('email') }} as email_key
    from {{ ref('stg_shop__customers') }}

),

person_map as (

    select * from {{ ref('int_person_map') }}

),

persons_by_email as (

    select * from {{ ref('int_email_keys_resolved') }}

),

identified as (

    select
        customers.customer_id,
        coalesce(
            person_map.person_id,
            persons_by_email.person_id,
            {{ new_person_id('customers.customer_id') }}
        ) as person_id,
        case
            when person_map.person_id is not null then 'person_map'
            when persons_by_email.person_id is not null then 'email'
            else 'new'
        end as identified_by
    from customers
    left join person_map
        on customers.customer_id = person_map.customer_id
    left join persons_by_email
        on person_map.customer_id is null
        and customers.email_key = persons_by_email.email_key
        and customers.email_key not in {{ identity_blocked_values() }}

)

select * from identified
