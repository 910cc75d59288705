-- Data-vendor attributes per person, only for people whose enrichment
-- consent is granted as of the run: the latest 'enrichment' decision up to
-- as_of across all of the person's customer records (a withdrawal wins a
-- tie). No such decision, or the latest is denied/withdrawn: no row, so a
-- withdrawal removes the person's vendor data at the next build.
--
-- Matching: a delivery's key is SHA-256 (hex) of lower(trim(email)); it is
-- recomputed here from each record's email_normalized (same rule, see
-- tailor/enrich/keys.py). A person matches through any of their records.
--
-- Precedence when several vendors or records match: per attribute, the
-- latest delivery with a value wins (delivered_at desc), then the vendor
-- name, then the person's primary record; extra attributes likewise per key.
--
-- Deliveries are read as they stand, not cut at as_of: a vendor's new
-- delivery replaces its previous one (tailor enrich import), so there is
-- no history to cut, like ml.identity_links. Consent is cut at as_of.
with

run as (

    select {{ as_of() }} as as_of

),

customers as (

    select
        person_id,
        customer_id,
        is_primary_record,
        encode(sha256(convert_to(email_normalized, 'UTF8')), 'hex') as email_sha256
    from {{ ref('int_customers_resolved') }}

),

deliveries as (

    select * from {{ ref('stg_enrich__vendor_attributes') }}

),

-- every record a delivery matches, consented or not (the consent filter
-- joins per person below). Matches first, consent second: consent is read
-- only for the people a vendor knows, and with no delivery at all the
-- build reads no consent (it read every enrichment decision, about 0.5 s
-- at 100k customers, to keep none of them)
matched as (

    select
        customers.person_id,
        customers.customer_id,
        customers.is_primary_record,
        deliveries.*
    from deliveries
    inner join customers
        on deliveries.email_sha256 = customers.email_sha256

),

enrichment_decisions as (

    select consents.*
    from {{ ref('stg_shop__consents') }} as consents
    cross join run
    where consents.purpose = 'enrichment'
        and consents.recorded_at <= run.as_of

),

-- across all of the matched person's records, not only the matched ones
latest_decisions as (

    select distinct on (records.person_id)
        records.person_id,
        enrichment_decisions.is_granted,
        enrichment_decisions.recorded_at
    from enrichment_decisions
    inner join {{ ref('int_customers_resolved') }} as records
        on enrichment_decisions.customer_id = records.customer_id
    where records.person_id in (select matched.person_id from matched)
    order by records.person_id, enrichment_decisions.recorded_at desc, enrichment_decisions.is_granted asc

),

consented as (

    select person_id, recorded_at as enrichment_consent_at
    from latest_decisions
    where is_granted

),

-- extra attributes: the winning value per key, then one object per person
extra_values as (

    select distinct on (matched.person_id, attribute.key)
        matched.person_id,
        attribute.key,
        attribute.value
    from matched
    cross join lateral jsonb_each(matched.extra_attributes) as attribute
    order by
        matched.person_id, attribute.key,
        matched.delivered_at desc, matched.vendor asc, matched.is_primary_record desc, matched.customer_id asc

),

extras as (

    select person_id, jsonb_object_agg(key, value) as vendor_extra_attributes
    from extra_values
    group by person_id

),

{%- set precedence = "delivered_at desc, vendor asc, is_primary_record desc, customer_id asc" %}

per_person as (

    select
        person_id,
        (array_agg(income_band order by {{ precedence }})
            filter (where income_band is not null))[1] as vendor_income_band,
        (array_agg(household_size order by {{ precedence }})
            filter (where household_size is not null))[1] as vendor_household_size,
        (array_agg(home_owner order by {{ precedence }})
            filter (where home_owner is not null))[1] as vendor_home_owner,
        count(distinct customer_id) as matched_records,
        array_agg(distinct vendor order by vendor) as vendors,
        max(delivered_at) as last_delivered_at
    from matched
    group by person_id

),

-- arrays cannot go through array_agg(...)[1]: pick the winning row instead
interests as (

    select distinct on (person_id)
        person_id,
        interests as vendor_interests
    from matched
    where interests is not null
    order by person_id, {{ precedence }}

),

final as (

    select
        per_person.person_id,

        -- attributes
        per_person.vendor_income_band,
        per_person.vendor_household_size,
        per_person.vendor_home_owner,
        interests.vendor_interests,
        coalesce(extras.vendor_extra_attributes, '{}'::jsonb) as vendor_extra_attributes,

        -- provenance
        per_person.vendors,
        per_person.matched_records,
        per_person.last_delivered_at,
        consented.enrichment_consent_at,
        run.as_of

    from per_person
    inner join consented
        on per_person.person_id = consented.person_id
    left join interests
        on per_person.person_id = interests.person_id
    left join extras
        on per_person.person_id = extras.person_id
    cross join run

)

select * from final
