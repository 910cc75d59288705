-- One row per person, as of the run: who they are (demographics), what they
-- care about (stated interests, inferred category affinities), what they
-- bought (RFM), what they did lately (web, email, carts, engagement score),
-- when and where to reach them (device, local send hour) and whether they
-- agreed to marketing email.
--
-- Facts stay facts: a filled-in value (local_timezone, best_send_hour) sits
-- in its own column next to a `_source` saying where it came from, and the
-- fact column stays null when nobody told us. Precedence and imputation
-- rules: _customers__docs.md.
{#- Nested loops off for this one statement (set local ends with dbt's
    transaction). Every join here is on person_id: hash and merge joins are
    always right, and one row estimate off by orders of magnitude (it was
    the consent view's, read here until contactability_at_build) made the
    planner loop over every pair of people (25 s at 20k people, quadratic
    beyond). With tables only it plans well either way (1.33 s against
    1.36 s at 100k people); the setting keeps a misestimate from costing
    that again.
    Statistics only for what the profile's readers (the segments, the
    audience) join and filter on: the row count and these columns are what
    their plans need, and all 80 columns took 0.18 s of the build
    (macros/contracts.sql, analyze_columns). -#}
{{ config(
    pre_hook="set local enable_nestloop = off",
    analyze_columns=['person_id', 'rfm_segment', 'r_score', 'f_score', 'm_score', 'first_order_at',
                     'last_order_at', 'computed_at', 'email_marketing_consent']
) }}
{%- set top_n = var('category_affinity_top_n') %}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

-- two imports of the same table, each read once: a CTE read twice is
-- materialised and the planner loses the table's statistics (a nested loop
-- over every pair of people at scale)
customers as (

    select * from {{ ref('int_customers_resolved') }}

),

primary_records as (

    select * from {{ ref('int_customers_resolved') }}
    where is_primary_record

),

orders as (

    select * from {{ ref('int_persons_orders_aggregated') }}

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

-- engagement points are kept as of the decay epoch: seen from as_of here
-- (the score: _customers__docs.md, profile_engagement_score)
engagement as (

    select
        weighted.person_id,
        weighted.engagement_points_at_epoch
            * {{ decay_to_as_of('run.as_of', 'weighted.decay_epoch', var('engagement_half_life_days')) }} as engagement_points
    from {{ ref('int_persons_engagement_weighted') }} as weighted
    cross join run

),

traits as (

    select * from {{ ref('int_persons_traits_merged') }}

),

interests as (

    select * from {{ ref('int_persons_interests_collected') }}

),

category_affinities as (

    select * from {{ ref('int_person_categories_scored') }}

),

send_hours as (

    select * from {{ ref('int_persons_send_hours_chosen') }}

),

timezones as (

    select * from {{ ref('int_persons_timezones_resolved') }}

),

carts as (

    select * from {{ ref('int_carts_attributed') }}

),

-- the consent decision in force, as this build read contactability
person_consent as (

    select person_id, email_marketing_consent from {{ ref('contactability_at_build') }}

),

weather as (

    select * from {{ ref('int_persons_weather') }}

),

-- only people whose enrichment consent allows it have a row
enrichment as (

    select * from {{ ref('int_persons_enrichment') }}

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

-- RFM scores: quintiles among people who bought (5 = best); ties broken by
-- the next measure, then person_id, so a re-run scores identically
scored as (

    select
        person_id,
        ntile(5) over (order by recency_days desc, frequency asc, person_id) as r_score,
        ntile(5) over (order by frequency asc, monetary asc, person_id) as f_score,
        ntile(5) over (order by monetary asc, frequency asc, person_id) as m_score
    from orders

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

-- an abandoned cart: items left in it within cart_abandonment_days, no
-- order since (the same rule as seg_cart_abandoners); the latest one
open_carts as (

    select distinct on (carts.person_id)
        carts.person_id,
        carts.cart_value as open_cart_value,
        carts.updated_at as open_cart_updated_at
    from carts
    cross join run
    where carts.is_unconverted
        and carts.item_count > 0
        and not carts.has_ordered_since
        and carts.updated_at > run.as_of - interval '{{ var("cart_abandonment_days") }} days'
    order by carts.person_id, carts.updated_at desc, carts.cart_id desc

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
        case
            when persons.birth_date is null then 'unknown'
            when age(run.as_of, persons.birth_date) < interval '25 years' then 'under_25'
            when age(run.as_of, persons.birth_date) < interval '35 years' then '25_34'
            when age(run.as_of, persons.birth_date) < interval '45 years' then '35_44'
            when age(run.as_of, persons.birth_date) < interval '55 years' then '45_54'
            when age(run.as_of, persons.birth_date) < interval '65 years' then '55_64'
            else '65_plus'
        end as age_band,
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
        coalesce(round((100 * (1 - exp(-engagement.engagement_points / {{ var('engagement_score_scale') }})))::numeric, 2), 0) as engagement_score,
        coalesce(round(engagement.engagement_points::numeric, 4), 0) as engagement_points,

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
        coalesce(person_consent.email_marketing_consent, false) as email_marketing_consent,

        -- run
        run.as_of as computed_at

    from persons
    cross join run
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
