-- Every identifier a customer record carries, normalised, and whether it
-- may act as an identity-graph edge.
--
-- Identifiers: the email key (identity_email_key: case, whitespace, +tags,
-- Gmail dots), the phone's digits, the devices the shop saw the customer on
-- (customer_devices) and the anonymous (cookie / local-storage) ids the
-- customer was seen with on an identified web event (login, identify,
-- alias): that is how an anonymous visitor who later logs in joins them.
-- Guardrails: a blocked value (identity_blocked_values: test@test.com,
-- 'null', 'n/a', ...) is never an edge, nor is an identifier shared by more
-- customer records than its identity_max_customers_per_<type> var allows.
--
-- Incremental: a run recomputes only the records whose identifiers may have
-- changed since the last one (read from the change log, see
-- identifiers_increment_begin in macros/identity.sql, which also deletes
-- their old rows), and recounts customers_sharing for every record sharing
-- an identifier they have or had. Changing this SQL or an identity var
-- recomputes everything on the next run (a fingerprint of both is kept
-- with the table).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['customer_id', 'identifier_type', 'identifier'],
        on_schema_change='fail',
        indexes=[{'columns': ['identifier_type', 'identifier']}],
        pre_hook="{{ identifiers_increment_begin() }}",
        post_hook="{{ increment_window_close(identifiers_fingerprint()) }}"
    )
}}

with

customers as (

    {{ increment_rows(ref('stg_shop__customers'), 'customer_id', 'select customer_id from identifiers_changed') }}

),

customer_devices as (

    {{ increment_rows(ref('stg_shop__customer_devices'), 'customer_id', 'select customer_id from identifiers_changed') }}

),

web_events as (

    {{ increment_rows(ref('stg_shop__web_events'), 'customer_id', 'select customer_id from identifiers_changed') }}

),

emails as (

    select
        customer_id,
        'email' as identifier_type,
        {{ identity_email_key('email') }} as identifier
    from customers

),

phones as (

    select
        customer_id,
        'phone' as identifier_type,
        {{ identity_phone_key('phone') }} as identifier
    from customers

),

devices as (

    select distinct
        customer_id,
        'device' as identifier_type,
        nullif(trim(device_id), '') as identifier
    from customer_devices

),

anonymous_ids as (

    select distinct
        customer_id,
        'anonymous_id' as identifier_type,
        nullif(trim(anonymous_id), '') as identifier
    from web_events
    where customer_id is not null

),

-- union all: the branches are distinct already (one email and one phone per
-- customer record, devices and anonymous ids selected distinct, a type per branch)
identifiers as (

    select * from emails
    union all
    select * from phones
    union all
    select * from devices
    union all
    select * from anonymous_ids

),

-- only records the shop still has (a deleted customer identifies no one)
current_identifiers as (

    select identifiers.*
    from identifiers
    where identifiers.customer_id in (select customer_id from customers)

),

{%- if is_incremental() %}

-- identifiers the changed records have or had: every record sharing one is
-- recounted (those of unchanged records from this table, where the
-- pre-hook left only unchanged records)
affected_groups as (

    select identifier_type, identifier from current_identifiers where identifier is not null
    union
    select identifier_type, identifier from identifiers_old_groups

),

-- looked up group by group (a few thousand index probes on this table's
-- (identifier_type, identifier) index): as a join, the planner reads all of
-- its rows (365k at 100k customers) to keep a few hundred
unchanged_sharing as (

    select
        this.customer_id,
        this.identifier_type,
        this.identifier
    from affected_groups
    cross join lateral (
        select stored.customer_id, stored.identifier_type, stored.identifier
        from {{ this }} as stored
        where stored.identifier_type = affected_groups.identifier_type
            and stored.identifier = affected_groups.identifier
    ) as this

),
{%- endif %}

recounted as (

    select customer_id, identifier_type, identifier
    from current_identifiers
    where identifier is not null
    {%- if is_incremental() %}
    union all
    select customer_id, identifier_type, identifier
    from unchanged_sharing
    {%- endif %}

),

counted as (

    select
        customer_id,
        identifier_type,
        identifier,
        count(*) over (partition by identifier_type, identifier) as customers_sharing,
        lower(identifier) in {{ identity_blocked_values() }} as is_blocked
    from recounted

),

guarded as (

    select
        counted.*,
        case identifier_type
            when 'email' then {{ var('identity_max_customers_per_email') }}
            when 'phone' then {{ var('identity_max_customers_per_phone') }}
            when 'device' then {{ var('identity_max_customers_per_device') }}
            when 'anonymous_id' then {{ var('identity_max_customers_per_anonymous_id') }}
        end as max_customers_sharing
    from counted

),

final as (

    select
        customer_id,
        identifier_type,
        identifier,
        customers_sharing,
        max_customers_sharing,
        case
            when is_blocked then 'blocked_value'
            when customers_sharing > max_customers_sharing then 'shared_by_too_many'
        end as excluded_reason,
        not is_blocked and customers_sharing <= max_customers_sharing as is_edge
    from guarded

)

select * from final
