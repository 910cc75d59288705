-- What each person told the shop they are interested in (signup form,
-- preference centre, surveys) up to as_of, across all their customer
-- records: stated interests, as opposed to the inferred category
-- affinities of int_person_categories_scored.
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}

),

interests as (

    select * from {{ ref('stg_shop__interests') }}

),

collected as (

    select
        customers.person_id,
        array_agg(distinct interests.interest order by interests.interest) as interests,
        max(interests.recorded_at) as interests_updated_at
    from interests
    cross join run
    inner join customers
        on interests.customer_id = customers.customer_id
    where interests.recorded_at <= run.as_of
        and interests.interest is not null
    group by customers.person_id

)

select * from collected
