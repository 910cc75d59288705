-- One row per current customer record, as the matcher compares them: names,
-- birth date, place, phone digits and email local part lower-cased and
-- trimmed; blocked or malformed values null (no evidence either way).
-- Reads a staging view only: the matcher runs before the identity models.
-- %(blocked)s is the identity_blocked_values dbt var. record_md5 fingerprints
-- the row as compared: the matcher rescores a record only when it changes.
with

customers as (

    select * from staging.stg_shop__customers

),

prepared as (

    select
        customer_id as unique_id,
        nullif(lower(first_name), '') as first_name,
        nullif(lower(last_name), '') as last_name,
        birth_date::text as birth_date,
        nullif(lower(city), '') as city,
        nullif(lower(replace(postcode, ' ', '')), '') as postcode,
        case
            when length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7
                and regexp_replace(phone, '[^0-9]', '', 'g') <> all(%(blocked)s)
                then regexp_replace(phone, '[^0-9]', '', 'g')
        end as phone,
        case
            when is_valid_email and email_normalized <> all(%(blocked)s)
                then split_part(split_part(email_normalized, '@', 1), '+', 1)
        end as email_local
    from customers

)

select
    prepared.*,
    md5(prepared::text) as record_md5
from prepared
order by unique_id
