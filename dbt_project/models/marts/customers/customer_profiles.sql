-- One row per person, as of the run: who they are (demographics), what they
-- care about (stated interests, inferred category affinities), what they
-- bought (RFM), what they did lately (web, email, carts, engagement score),
-- when and where to reach them (device, local send hour) and whether they
-- agreed to marketing email.
--
-- A view over int_persons_profiled, which keeps every person's profile and
-- recomputes only the persons whose inputs (or windows) moved since its last
-- run. What moves with as_of alone for everyone is computed here, when read:
-- the engagement score (points kept at the decay epoch, scaled to as_of),
-- the age band and computed_at. The as_of is the one int_persons_profiled's
-- rows were built for (its table comment), so the view always describes one
-- instant, whenever it is read. Ages are taken in the reader's session time
-- zone, as every timestamp-to-date step in the project is (UTC on the
-- embedded server).
--
-- Facts stay facts: a filled-in value (local_timezone, best_send_hour) sits
-- in its own column next to a `_source` saying where it came from, and the
-- fact column stays null when nobody told us. Precedence and imputation
-- rules: _customers__docs.md.
{{ config(materialized='view') }}
with

run as (

    select {{ built_as_of(ref('int_persons_profiled')) }} as as_of

),

-- engagement points are kept as of the decay epoch: seen from as_of here
-- (the score: _customers__docs.md, profile_engagement_score)
profiled as (

    select
        stored.*,
        stored.engagement_points_at_epoch
            * {{ decay_to_as_of('run.as_of', 'stored.engagement_decay_epoch', var('engagement_half_life_days')) }} as engagement_points
    from {{ ref('int_persons_profiled') }} as stored
    cross join run

),

final as (

    select
        profiled.person_id,
        profiled.email,
        profiled.has_valid_email,
        profiled.primary_customer_id,
        profiled.person_record_count,
        profiled.first_name,
        profiled.last_name,
        profiled.city,
        profiled.postcode,
        profiled.country,
        profiled.timezone,
        profiled.local_timezone,
        profiled.local_timezone_source,
        profiled.is_local_timezone_imputed,
        profiled.gender,
        case
            when profiled.birth_date is null then 'unknown'
            when age(run.as_of, profiled.birth_date) < interval '25 years' then 'under_25'
            when age(run.as_of, profiled.birth_date) < interval '35 years' then '25_34'
            when age(run.as_of, profiled.birth_date) < interval '45 years' then '35_44'
            when age(run.as_of, profiled.birth_date) < interval '55 years' then '45_54'
            when age(run.as_of, profiled.birth_date) < interval '65 years' then '55_64'
            else '65_plus'
        end as age_band,
        profiled.income_band,
        profiled.customer_since,
        profiled.interests,
        profiled.interests_updated_at,
        profiled.top_categories,
        profiled.category_affinities,
        profiled.recency_days,
        profiled.frequency,
        profiled.monetary,
        profiled.r_score,
        profiled.f_score,
        profiled.m_score,
        profiled.rfm_segment,
        profiled.average_order_value,
        profiled.first_order_at,
        profiled.last_order_at,
        profiled.favourite_category,
        profiled.web_events_30d,
        profiled.page_views_30d,
        profiled.product_views_30d,
        profiled.add_to_carts_30d,
        profiled.sessions_30d,
        profiled.email_opens_30d,
        profiled.email_clicks_30d,
        profiled.product_views_90d,
        profiled.add_to_carts_90d,
        profiled.sessions_90d,
        profiled.email_sends_30d,
        profiled.email_sends_90d,
        profiled.email_open_rate_30d,
        profiled.email_open_rate_90d,
        profiled.email_click_rate_30d,
        profiled.email_click_rate_90d,
        profiled.has_open_cart,
        profiled.open_cart_value,
        profiled.open_cart_updated_at,
        profiled.last_activity_at,
        coalesce(round((100 * (1 - exp(-profiled.engagement_points / {{ var('engagement_score_scale') }})))::numeric, 2), 0) as engagement_score,
        coalesce(round(profiled.engagement_points::numeric, 4), 0) as engagement_points,
        profiled.language,
        profiled.last_device_type,
        profiled.last_os,
        profiled.preferred_device_type,
        profiled.best_send_hour,
        profiled.best_send_hour_source,
        profiled.is_best_send_hour_imputed,
        profiled.traits,
        profiled.traits_updated_at,
        profiled.weather_status,
        profiled.weather_observed_on,
        profiled.weather_temperature_c,
        profiled.weather_precipitation_mm,
        profiled.weather_condition,
        profiled.vendor_income_band,
        profiled.vendor_household_size,
        profiled.vendor_home_owner,
        profiled.vendor_interests,
        profiled.is_enriched,
        profiled.email_marketing_consent,
        run.as_of as computed_at
    from profiled
    cross join run

)

select * from final
