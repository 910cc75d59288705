-- The email audience: members of a segment (after priorities) whom we may
-- email (valid address, email_marketing consent granted, not suppressed),
-- with the fields templates personalise on. People in no segment get no
-- campaign email. Read by the export DAG behind the gate.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

-- as this build saw it (the view read once per build)
contactability as (

    select * from {{ ref('contactability_at_build') }}

),

assignments as (

    select * from {{ ref('segment_assignments') }}

),

audience as (

    select
        -- recipient
        profiles.person_id,
        contactability.email,
        profiles.first_name,
        profiles.last_name,

        -- context
        profiles.city,
        profiles.country,
        profiles.timezone,

        -- targeting
        assignments.segment,
        assignments.priority as segment_priority,
        profiles.favourite_category,
        profiles.recency_days,
        profiles.frequency,
        profiles.monetary,
        profiles.last_order_at,

        -- run
        profiles.computed_at

    from profiles
    inner join contactability
        on profiles.person_id = contactability.person_id
    inner join assignments
        on profiles.person_id = assignments.person_id
    where contactability.can_email
        and profiles.email_marketing_consent

)

select * from audience
