-- The profile of every person, kept per person: what customer_profiles
-- shows, less the few values that move with as_of alone (the engagement
-- score's decay, the age band, the as_of itself), which customer_profiles
-- (a view) computes from this table's rows when read. Those columns here
-- are what the view needs for them: birth_date, and the engagement points
-- kept at the decay epoch. Column meanings: customer_profiles.
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the persons int_persons_changed marked since the last one; those with an
-- event crossing an edge of any feature's window as as_of moved (activity,
-- send hours, categories, engagement, sign-up for the population); and
-- those whose inputs computed over everyone moved without a change of
-- theirs (`compared`: RFM quintiles, the daily recency, time zones imputed
-- by country, weather, consent, interests, enrichment, open carts leaving
-- the abandonment window). A change to an input model's SQL or to the vars
-- the features use recomputes everyone (they are part of the fingerprint).
--
-- Facts stay facts: a filled-in value (local_timezone, best_send_hour) sits
-- in its own column next to a `_source` saying where it came from, and the
-- fact column stays null when nobody told us. Precedence and imputation
-- rules: _customers__docs.md.
{#- Nested loops off when rebuilding many persons (set local ends with
    dbt's transaction). Every join here is on person_id: hash and merge
    joins are always right over everyone, and one row estimate off by
    orders of magnitude (it was the consent view's, read here until
    contactability_at_build) made the planner loop over every pair of
    people (25 s at 20k people, quadratic beyond). For the thousand-odd
    persons of an incremental run, index lookups per person are what is
    fast, so the setting applies only above 10,000 persons.
    Statistics only for what the profile's readers (the segments, the
    audience, through customer_profiles) join and filter on
    (macros/contracts.sql, analyze_columns). -#}
{%- set top_n = var('category_affinity_top_n') %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook=[
            "{{ persons_increment_begin(
                [['int_web_events_stitched', 'occurred_at'], ['stg_shop__email_events', 'occurred_at'],
                 ['int_orders_attributed', 'ordered_at', 'person_id'],
                 ['int_order_items_categorised', 'ordered_at', 'person_id'],
                 ['int_customers_resolved', 'created_at']],
                [0, var('activity_window_days'), var('long_activity_window_days'),
                 var('preferred_device_window_days'), var('send_hour_lookback_days')],
                [var('engagement_half_life_days'), var('engagement_weights'),
                 var('category_affinity_half_life_days'), var('category_affinity_weights'), var('category_affinity_top_n'),
                 var('send_hour_min_events'), var('default_send_hour'), var('default_timezone'),
                 var('cart_abandonment_days'), parents_code_fingerprint()],
                compared=[
                    [ref('int_persons_orders_aggregated'), [
                        ['recency_days', 'inputs.recency_days'],
                        ['frequency', 'coalesce(inputs.frequency, 0)'],
                        ['monetary', 'coalesce(inputs.monetary, 0)'],
                        ['average_order_value', 'inputs.average_order_value'],
                        ['first_order_at', 'inputs.first_order_at'],
                        ['last_order_at', 'inputs.last_order_at'],
                        ['favourite_category', 'inputs.favourite_category']]],
                    [profile_rfm_scores(ref('int_persons_orders_aggregated')), [
                        ['r_score', 'inputs.r_score'], ['f_score', 'inputs.f_score'], ['m_score', 'inputs.m_score']]],
                    [ref('int_persons_timezones_resolved'), [
                        ['local_timezone', 'inputs.local_timezone'],
                        ['local_timezone_source', 'inputs.local_timezone_source'],
                        ['is_local_timezone_imputed', 'inputs.is_local_timezone_imputed']]],
                    [ref('int_persons_interests_collected'), [
                        ['interests', \"coalesce(inputs.interests, '{}'::text[])\"],
                        ['interests_updated_at', 'inputs.interests_updated_at']]],
                    [profile_open_carts(ref('int_carts_attributed'), as_of()), [
                        ['has_open_cart', 'inputs.person_id is not null'],
                        ['open_cart_value', 'inputs.open_cart_value'],
                        ['open_cart_updated_at', 'inputs.open_cart_updated_at']]],
                    [ref('int_persons_weather'), [
                        ['weather_status', \"coalesce(inputs.weather_status, 'no_location')\"],
                        ['weather_observed_on', 'inputs.observed_on'],
                        ['weather_temperature_c', 'inputs.temperature_c'],
                        ['weather_precipitation_mm', 'inputs.precipitation_mm'],
                        ['weather_condition', 'inputs.condition']]],
                    [ref('int_persons_enrichment'), [
                        ['vendor_income_band', 'inputs.vendor_income_band'],
                        ['vendor_household_size', 'inputs.vendor_household_size'],
                        ['vendor_home_owner', 'inputs.vendor_home_owner'],
                        ['vendor_interests', \"coalesce(inputs.vendor_interests, '{}'::text[])\"],
                        ['is_enriched', 'inputs.person_id is not null']]],
                    [ref('contactability_at_build'), [
                        ['email_marketing_consent', 'coalesce(inputs.email_marketing_consent, false)']]]]) }}",
            "{{ persons_increment_nestloop_off(10000) }}",
        ],
        post_hook="{{ persons_increment_close() }}",
        analyze_columns=['person_id', 'rfm_segment', 'r_score', 'f_score', 'm_score', 'first_order_at',
                         'last_order_at', 'email_marketing_consent']
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
-- depends_on: {{ ref('int_orders_attributed') }}
-- depends_on: {{ ref('int_order_items_categorised') }}
-- depends_on: {{ ref('int_web_events_stitched') }}
-- depends_on: {{ ref('stg_shop__email_events') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

-- two imports of the same table, each read once: a CTE read twice is
-- materialised and the planner loses the table's statistics (a nested loop
-- over every pair of people at scale)
customers as (

    select records.* from {{ ref('int_customers_resolved') }} as records
    {{ persons_increment_join('records.person_id') }}

),

primary_records as (

    select records.* from {{ ref('int_customers_resolved') }} as records
    {{ persons_increment_join('records.person_id') }}
    where records.is_primary_record

),

orders as (

    select * from {{ ref('int_persons_orders_aggregated') }}
    where {{ persons_increment_lookup('person_id') }}

),

-- quintiles over every buyer, then the persons being rebuilt
scored as (

    select scores.* from {{ profile_rfm_scores(ref('int_persons_orders_aggregated')) }} as scores
    {{ persons_increment_join('scores.person_id') }}

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}
    where {{ persons_increment_lookup('person_id') }}

),

-- engagement points as of the decay epoch: customer_profiles scales them
-- to as_of (the score: _customers__docs.md, profile_engagement_score)
engagement as (

    select * from {{ ref('int_persons_engagement_weighted') }}
    where {{ persons_increment_lookup('person_id') }}

),

traits as (

    select * from {{ ref('int_persons_traits_merged') }}
    where {{ persons_increment_lookup('person_id') }}

),

interests as (

    select * from {{ ref('int_persons_interests_collected') }}
    where {{ persons_increment_lookup('person_id') }}

),

category_affinities as (

    select * from {{ ref('int_person_categories_scored') }}
    where {{ persons_increment_lookup('person_id') }}

),

send_hours as (

    select * from {{ ref('int_persons_send_hours_chosen') }}
    where {{ persons_increment_lookup('person_id') }}

),

timezones as (

    select * from {{ ref('int_persons_timezones_resolved') }}
    where {{ persons_increment_lookup('person_id') }}

),

carts as (

    select carts.* from {{ ref('int_carts_attributed') }} as carts
    {{ persons_increment_join('carts.person_id') }}

),

-- the consent decision in force, as this build read contactability
person_consent as (

    select person_id, email_marketing_consent from {{ ref('contactability_at_build') }}
    where {{ persons_increment_lookup('person_id') }}

),

weather as (

    select * from {{ ref('int_persons_weather') }}
    where {{ persons_increment_lookup('person_id') }}

),

-- only people whose enrichment consent allows it have a row
enrichment as (

    select * from {{ ref('int_persons_enrichment') }}
    where {{ persons_increment_lookup('person_id') }}

),

-- facts over all of a person's records: any email (when the primary
-- record has no valid one), the oldest sign-up, and the latest known value
-- of the traits a secondary record may hold when the primary does not
person_records as (

    select
        person_id,
        min(email_normalized) as any_email,
        min(created_at) as customer_since,
        (array_agg(gender order by updated_at desc, customer_id desc) filter (where gender is not null))[1] as any_gender,
        (array_agg(birth_date order by updated_at desc, customer_id desc) filter (where birth_date is not null))[1] as any_birth_date,
        (array_agg(income_band order by updated_at desc, customer_id desc) filter (where income_band is not null))[1] as any_income_band
    from customers
    group by person_id

),

-- the primary record speaks for the person
persons as (

    select
        primary_record.person_id,
        coalesce(
            case when primary_record.is_valid_email then primary_record.email_normalized end,
            person_records.any_email
        ) as email,
        primary_record.is_valid_email as has_valid_email,
        primary_record.customer_id as primary_customer_id,
        primary_record.person_record_count,
        primary_record.first_name,
        primary_record.last_name,
        primary_record.city,
        primary_record.postcode,
        primary_record.country,
        primary_record.timezone,
        coalesce(primary_record.gender, person_records.any_gender) as gender,
        coalesce(primary_record.birth_date, person_records.any_birth_date) as birth_date,
        coalesce(primary_record.income_band, person_records.any_income_band) as income_band,
        person_records.customer_since
    from primary_records as primary_record
    inner join person_records
        on primary_record.person_id = person_records.person_id
    -- point in time: nobody is profiled before their first sign-up, so a
    -- run for a past logical date has that date's population
    cross join run
    where person_records.customer_since <= run.as_of

),

-- the person's top categories, and every category's share of their affinity
affinities as (

    select
        person_id,
        array_agg(category_name order by affinity_rank) filter (where affinity_rank <= {{ top_n }}) as top_categories,
        jsonb_object_agg(category_name, affinity_share) as category_affinities
    from category_affinities
    group by person_id

),

open_carts as (

    select * from {{ profile_open_carts('carts', '(select as_of from run)') }} as open_carts

),

final as (

    select
        -- identity
        persons.person_id,
        persons.email,
        persons.has_valid_email,
        persons.primary_customer_id,
        persons.person_record_count,

        -- demographics (precedence: the shop's primary record, the person's
        -- other records, identify traits; location only from the primary
        -- record, so city, postcode and country always belong together)
        coalesce(persons.first_name, traits.trait_first_name) as first_name,
        coalesce(persons.last_name, traits.trait_last_name) as last_name,
        persons.city,
        persons.postcode,
        persons.country,
        coalesce(persons.timezone, traits.context_timezone) as timezone,
        timezones.local_timezone,
        timezones.local_timezone_source,
        timezones.is_local_timezone_imputed,
        traits.language,
        coalesce(persons.gender, lower(nullif(trim(traits.traits ->> 'gender'), ''))) as gender,
        persons.birth_date,
        persons.income_band,
        persons.customer_since,

        -- psychographic: told (interests) and inferred (category affinities)
        coalesce(interests.interests, '{}'::text[]) as interests,
        interests.interests_updated_at,
        coalesce(affinities.top_categories, '{}'::text[]) as top_categories,
        coalesce(affinities.category_affinities, '{}'::jsonb) as category_affinities,

        -- transactional (RFM)
        orders.recency_days,
        coalesce(orders.frequency, 0) as frequency,
        coalesce(orders.monetary, 0) as monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        case
            when scored.person_id is null then 'prospect'
            when scored.r_score >= 4 and scored.f_score >= 4 then 'champions'
            when scored.r_score >= 4 and scored.f_score = 3 then 'loyal'
            when scored.r_score = 3 and scored.f_score >= 3 then 'loyal'
            when scored.r_score >= 4 then 'recent'
            when scored.r_score = 3 then 'needs_attention'
            when scored.f_score >= 4 then 'cant_lose'
            when scored.f_score = 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment,
        orders.average_order_value,
        orders.first_order_at,
        orders.last_order_at,
        orders.favourite_category,

        -- behavioural
        coalesce(activity.web_events_30d, 0) as web_events_30d,
        coalesce(activity.page_views_30d, 0) as page_views_30d,
        coalesce(activity.product_views_30d, 0) as product_views_30d,
        coalesce(activity.add_to_carts_30d, 0) as add_to_carts_30d,
        coalesce(activity.sessions_30d, 0) as sessions_30d,
        coalesce(activity.email_opens_30d, 0) as email_opens_30d,
        coalesce(activity.email_clicks_30d, 0) as email_clicks_30d,
        coalesce(activity.product_views_90d, 0) as product_views_90d,
        coalesce(activity.add_to_carts_90d, 0) as add_to_carts_90d,
        coalesce(activity.sessions_90d, 0) as sessions_90d,
        coalesce(activity.email_sends_30d, 0) as email_sends_30d,
        coalesce(activity.email_sends_90d, 0) as email_sends_90d,
        activity.email_open_rate_30d,
        activity.email_open_rate_90d,
        activity.email_click_rate_30d,
        activity.email_click_rate_90d,
        open_carts.person_id is not null as has_open_cart,
        open_carts.open_cart_value,
        open_carts.open_cart_updated_at,
        nullif(greatest(
            activity.last_web_event_at,
            activity.last_email_engagement_at,
            orders.last_order_at,
            '-infinity'::timestamptz
        ), '-infinity'::timestamptz) as last_activity_at,
        engagement.engagement_points_at_epoch,
        engagement.decay_epoch as engagement_decay_epoch,

        -- contextual and progressive profiling (collector)
        traits.last_device_type,
        traits.last_os,
        activity.preferred_device_type,
        send_hours.best_send_hour,
        send_hours.best_send_hour_source,
        send_hours.best_send_hour_source = 'default' as is_best_send_hour_imputed,
        coalesce(traits.traits, '{}'::jsonb) as traits,
        traits.traits_updated_at,
        coalesce(weather.weather_status, 'no_location') as weather_status,
        weather.observed_on as weather_observed_on,
        weather.temperature_c as weather_temperature_c,
        weather.precipitation_mm as weather_precipitation_mm,
        weather.condition as weather_condition,

        -- third-party (data vendors), only with enrichment consent
        enrichment.vendor_income_band,
        enrichment.vendor_household_size,
        enrichment.vendor_home_owner,
        coalesce(enrichment.vendor_interests, '{}'::text[]) as vendor_interests,
        enrichment.person_id is not null as is_enriched,

        -- consent
        coalesce(person_consent.email_marketing_consent, false) as email_marketing_consent

    from persons
    left join orders
        on persons.person_id = orders.person_id
    left join scored
        on persons.person_id = scored.person_id
    left join activity
        on persons.person_id = activity.person_id
    left join engagement
        on persons.person_id = engagement.person_id
    left join person_consent
        on persons.person_id = person_consent.person_id
    left join traits
        on persons.person_id = traits.person_id
    left join interests
        on persons.person_id = interests.person_id
    left join affinities
        on persons.person_id = affinities.person_id
    left join send_hours
        on persons.person_id = send_hours.person_id
    left join timezones
        on persons.person_id = timezones.person_id
    left join open_carts
        on persons.person_id = open_carts.person_id
    left join weather
        on persons.person_id = weather.person_id
    left join enrichment
        on persons.person_id = enrichment.person_id

)

select * from final
