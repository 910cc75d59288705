-- Each customer record with the person it belongs to.
--
-- Simple resolution for now (full identity resolution comes later): records
-- sharing a normalised valid email are one person; a record without a valid
-- email is a person of its own. The primary record (registered over guest,
-- then most recently updated) supplies the person's profile attributes.
with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

resolved as (

    select
        {{ person_id('email_normalized', 'is_valid_email', 'customer_id') }} as person_id,
        customers.*
    from customers

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
