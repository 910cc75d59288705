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

-- customers and person_map are read by both branches below: not
-- materialized, so each branch is planned with their statistics (as a
-- materialized CTE they have none, and every reader of this view was
-- planned for millions of rows instead of one per record)
customers as not materialized (

    select customer_id, email from {{ ref('stg_shop__customers') }}

),

person_map as not materialized (

    select * from {{ ref('int_person_map') }}

),

persons_by_email as (

    select * from {{ ref('int_email_keys_resolved') }}

),

mapped as (

    select
        customers.customer_id,
        person_map.person_id,
        'person_map' as identified_by
    from customers
    inner join person_map
        on customers.customer_id = person_map.customer_id

),

-- only records newer than the last build (usually none) pay for the email
-- key and its lookup
unmapped as (

    select
        customers.customer_id,
        {{ identity_email_key('customers.email') }} as email_key
    from customers
    where not exists (
        select 1 from person_map
        where person_map.customer_id = customers.customer_id
    )

),

resolved_by_email as (

    select
        unmapped.customer_id,
        coalesce(
            persons_by_email.person_id,
            {{ new_person_id('unmapped.customer_id') }}
        ) as person_id,
        case
            when persons_by_email.person_id is not null then 'email'
            else 'new'
        end as identified_by
    from unmapped
    left join persons_by_email
        on unmapped.email_key = persons_by_email.email_key
        and unmapped.email_key not in {{ identity_blocked_values() }}

),

identified as (

    select * from mapped

    union all

    select * from resolved_by_email

)

select * from identified
