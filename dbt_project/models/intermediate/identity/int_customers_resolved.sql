-- Each customer record with the person it belongs to (the persistent person
-- map: identity graph + probabilistic links, ids stable across runs) and
-- whether it is the person's primary record, which supplies the person's
-- profile attributes (registered over guest, then most recently updated).
with

customers as (

    -- the shop's columns; the change-log meta columns stay in staging
    select
        customer_id,
        email,
        email_normalized,
        is_valid_email,
        phone,
        first_name,
        last_name,
        birth_date,
        gender,
        income_band,
        city,
        postcode,
        country,
        timezone,
        is_guest,
        created_at,
        updated_at
    from {{ ref('stg_shop__customers') }}

),

person_map as (

    select * from {{ ref('int_person_map') }}

),

resolved as (

    select
        person_map.person_id,
        customers.*
    from customers
    inner join person_map
        on customers.customer_id = person_map.customer_id

),

ranked as (

    select
        resolved.*,
        row_number() over (
            partition by person_id
            order by is_guest asc, updated_at desc, customer_id desc
        ) = 1 as is_primary_record,
        count(*) over (partition by person_id) as person_record_count
    from resolved

)

select * from ranked
