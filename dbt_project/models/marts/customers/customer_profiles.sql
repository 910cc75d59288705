-- One row per person: who they are, what they bought (RFM), what they did
-- lately, and whether they agreed to marketing email, all as of the run.
with

customers as (

    select * from {{ ref('int_customers_resolved') }}

),

orders as (

    select * from {{ ref('int_persons_orders_aggregated') }}

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

traits as (

    select * from {{ ref('int_persons_traits_merged') }}

),

person_consent as (

    select * from {{ ref('int_persons_email_consent') }}

),

-- facts over all of a person's records: any email (when the primary
-- record has no valid one) and the oldest sign-up
person_records as (

    select
        person_id,
        min(email_normalized) as any_email,
        min(created_at) as customer_since
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
        primary_record.country,
        primary_record.timezone,
        primary_record.gender,
        primary_record.birth_date,
        person_records.customer_since
    from customers as primary_record
    inner join person_records
        on primary_record.person_id = person_records.person_id
    where primary_record.is_primary_record

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

final as (

    select
        -- identity
        persons.person_id,
        persons.email,
        persons.has_valid_email,
        persons.primary_customer_id,
        persons.person_record_count,

        -- demographics (the shop's record first, then identify traits)
        coalesce(persons.first_name, traits.trait_first_name) as first_name,
        coalesce(persons.last_name, traits.trait_last_name) as last_name,
        persons.city,
        persons.country,
        coalesce(persons.timezone, traits.context_timezone) as timezone,
        traits.language,
        persons.gender,
        case
            when persons.birth_date is null then 'unknown'
            when age({{ as_of() }}, persons.birth_date) < interval '25 years' then 'under_25'
            when age({{ as_of() }}, persons.birth_date) < interval '35 years' then '25_34'
            when age({{ as_of() }}, persons.birth_date) < interval '45 years' then '35_44'
            when age({{ as_of() }}, persons.birth_date) < interval '55 years' then '45_54'
            when age({{ as_of() }}, persons.birth_date) < interval '65 years' then '55_64'
            else '65_plus'
        end as age_band,
        persons.customer_since,

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
        nullif(greatest(
            activity.last_web_event_at,
            activity.last_email_engagement_at,
            orders.last_order_at,
            '-infinity'::timestamptz
        ), '-infinity'::timestamptz) as last_activity_at,

        -- contextual and progressive profiling (collector)
        traits.last_device_type,
        traits.last_os,
        coalesce(traits.traits, '{}'::jsonb) as traits,
        traits.traits_updated_at,

        -- consent
        coalesce(person_consent.is_granted, false) as email_marketing_consent,

        -- run
        {{ as_of() }} as computed_at

    from persons
    left join orders
        on persons.person_id = orders.person_id
    left join scored
        on persons.person_id = scored.person_id
    left join activity
        on persons.person_id = activity.person_id
    left join person_consent
        on persons.person_id = person_consent.person_id
    left join traits
        on persons.person_id = traits.person_id

)

select * from final
