-- The person holding each email key that is an identity edge, by the person
-- map: what a record or an order that has no mapping of its own (a customer
-- newer than the last build, a guest checkout) is attributed to through its
-- email. A blocked or widely shared address (test@test.com) is no edge, so
-- it attributes nothing. Several people on one key (within the sharing
-- limit): the smallest person_id, so every reader picks the same.
-- A table with an index on the key: send-time views look single keys up.
-- Written by comparison (incremental_strategy 'sync', macros/identity.sql):
-- the whole select runs, and only keys whose person changed are rewritten.
-- Never replaced by a new table, which would drop int_customers_identified
-- and the send-time views built on it (contactability) until the end of
-- the build.
{{
    config(
        materialized='incremental',
        incremental_strategy='sync',
        unique_key='email_key',
        on_schema_change='fail',
        indexes=[{'columns': ['email_key'], 'unique': true}]
    )
}}

with

email_identifiers as (

    select * from {{ ref('int_identifiers_normalized') }}
    where identifier_type = 'email'
        and is_edge

),

person_map as (

    select * from {{ ref('int_person_map') }}

),

resolved as (

    select distinct on (email_identifiers.identifier)
        email_identifiers.identifier as email_key,
        person_map.person_id
    from email_identifiers
    inner join person_map
        on email_identifiers.customer_id = person_map.customer_id
    order by email_identifiers.identifier, person_map.person_id

)

select * from resolved
