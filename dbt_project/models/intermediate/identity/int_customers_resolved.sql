-- Each customer record with the person it belongs to (the persistent person
-- map: identity graph + probabilistic links, ids stable across runs) and
-- whether it is the person's primary record, which supplies the person's
-- profile attributes (registered over guest, then most recently updated).
--
-- Incremental per person (resolved_increment_begin in macros/identity.sql):
-- a run rebuilds every record of the persons whose record set or records
-- may have changed since the last one (a record changed in the change log,
-- or mapped to another person, added or gone), before and after, so a
-- person's primary record and record count are always counted over all of
-- their records. A truncate of customers, a change of this SQL or no
-- previous run rebuilds everyone.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail',
        pre_hook="{{ resolved_increment_begin() }}",
        post_hook="{{ increment_window_close(local_md5(model.raw_code)) }}"
    )
}}
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
    from (
        {{ increment_rows(ref('stg_shop__customers'), 'customer_id', 'select customer_id from resolved_records') }}
    ) as customers

),

person_map as (

    select * from {{ ref('int_person_map') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from resolved_records)
        or (select since from increment_window) is null
    {%- endif %}

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
