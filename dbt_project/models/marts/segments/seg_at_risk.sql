-- At risk: good customers (F and M in the top three quintiles) gone quiet
-- (R in the bottom two). Weight grows with how much they used to buy.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

members as (

    select
        person_id,
        round((f_score + m_score)::numeric / 10, 4) as weight,
        format(
            'was F%s M%s (%s orders, %s spent) but no order for %s days',
            f_score, m_score, frequency, monetary, recency_days
        ) as reason
    from profiles
    where r_score <= 2
        and f_score >= 3
        and m_score >= 3

)

select * from members
