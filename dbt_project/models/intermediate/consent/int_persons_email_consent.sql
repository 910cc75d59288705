-- The email_marketing decision in force per person: the latest one across
-- all of the person's customer records (a withdrawal wins a tie).
--
-- A view over staging (itself views over raw): the profile build and the
-- send-time check in `contactability` apply this one rule, and the send-time
-- check sees decisions captured after the marts were built. Not cut at
-- as_of on purpose: a withdrawal recorded late must still be honoured.
-- Persons come from int_customers_identified (the person map, with a
-- fallback for customers who signed up after the last build).
{{ config(materialized='view') }}

with

customers as (

    select customer_id, person_id from {{ ref('int_customers_identified') }}

),

consents as (

    select * from {{ ref('stg_shop__consents') }}
    where purpose = 'email_marketing'

),

latest_decisions as (

    select distinct on (customers.person_id)
        customers.person_id,
        consents.status,
        consents.is_granted,
        consents.recorded_at
    from consents
    inner join customers
        on consents.customer_id = customers.customer_id
    order by customers.person_id, consents.recorded_at desc, consents.is_granted asc

)

select * from latest_decisions
