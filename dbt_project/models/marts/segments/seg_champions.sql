-- Champions: bought recently and often (R and F in the top two quintiles).
-- Weight: the share of the maximum RFM score.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

members as (

    select
        person_id,
        round((r_score + f_score + m_score)::numeric / 15, 4) as weight,
        format(
            'R%s F%s M%s: %s orders, %s spent, last order %s days ago',
            r_score, f_score, m_score, frequency, monetary, recency_days
        ) as reason
    from profiles
    where rfm_segment = 'champions'

)

select * from members
