-- How engaged each person is as of the run, as one 0-100 score (formula and
-- reasoning in the `profile_engagement_score` docs block, _customers__docs.md):
--
--     points = sum over signals of weight * sum over events of 0.5 ^ (age_days / half_life)
--     engagement_score = round(100 * (1 - exp(-points / engagement_score_scale)), 2)
--
-- Signals: emails opened and clicked (per message, from its first open or
-- click), web sessions (from their start), cart adds and revenue orders.
-- Weights: var engagement_weights; half-life: var engagement_half_life_days.
-- The decayed email/web counts come from int_persons_activity_aggregated
-- (kept as of the decay epoch there, scaled to as_of here); orders are
-- decayed here.
{%- set half_life = var('engagement_half_life_days') %}
{%- set weights = var('engagement_weights') %}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

orders as (

    select person_id, ordered_at from {{ ref('int_orders_attributed') }}
    where person_id is not null
        and is_revenue

),

orders_decayed as (

    select
        orders.person_id,
        -- numeric terms: an exact sum, the same whatever order rows come in
        sum({{ time_decay('orders.ordered_at', 'run.as_of', half_life) }}::numeric)::double precision as orders_decayed
    from orders
    cross join run
    where orders.ordered_at <= run.as_of
    group by orders.person_id

),

components as (

    select
        activity.person_id,
        activity.email_opens_decayed_at_epoch * scale.to_as_of as email_opens_decayed,
        activity.email_clicks_decayed_at_epoch * scale.to_as_of as email_clicks_decayed,
        activity.web_sessions_decayed_at_epoch * scale.to_as_of as web_sessions_decayed,
        activity.add_to_carts_decayed_at_epoch * scale.to_as_of as add_to_carts_decayed,
        coalesce(orders_decayed.orders_decayed, 0) as orders_decayed
    from activity
    cross join run
    -- activity keeps its decayed counts as of the decay epoch: scaled to as_of here
    cross join lateral (
        select {{ decay_to_as_of('run.as_of', 'activity.decay_epoch', half_life) }} as to_as_of
    ) as scale
    left join orders_decayed
        on activity.person_id = orders_decayed.person_id

),

weighted as (

    select
        *,
        {{ weights['email_open'] }} * email_opens_decayed
        + {{ weights['email_click'] }} * email_clicks_decayed
        + {{ weights['web_session'] }} * web_sessions_decayed
        + {{ weights['add_to_cart'] }} * add_to_carts_decayed
        + {{ weights['order'] }} * orders_decayed as engagement_points
    from components

),

scored as (

    select
        person_id,
        round(email_opens_decayed::numeric, 4) as email_opens_decayed,
        round(email_clicks_decayed::numeric, 4) as email_clicks_decayed,
        round(web_sessions_decayed::numeric, 4) as web_sessions_decayed,
        round(add_to_carts_decayed::numeric, 4) as add_to_carts_decayed,
        round(orders_decayed::numeric, 4) as orders_decayed,
        round(engagement_points::numeric, 4) as engagement_points,
        round((100 * (1 - exp(-engagement_points / {{ var('engagement_score_scale') }})))::numeric, 2) as engagement_score
    from weighted

)

select * from scored
