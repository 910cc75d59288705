-- What the engagement score is made of, per person: the time-decayed
-- counts of each signal and their weighted sum, kept decayed to the decay
-- epoch. customer_profiles scales the sum to as_of and maps it to the 0-100
-- score (formula and reasoning in the `profile_engagement_score` docs block,
-- _customers__docs.md):
--
--     points = sum over signals of weight * sum over events of 0.5 ^ (age_days / half_life)
--     engagement_score = round(100 * (1 - exp(-points / engagement_score_scale)), 2)
--
-- Signals: emails opened and clicked (per message, from its first open or
-- click), web sessions (from their start), cart adds and revenue orders.
-- Weights: var engagement_weights; half-life: var engagement_half_life_days.
-- The email/web counts are int_persons_activity_aggregated's; orders are
-- decayed here, the same way and to the same epoch (the row's decay_epoch
-- is activity's: a model run alone across a new year still sums terms of
-- one epoch, and activity's next rebuild differs from the copy).
--
-- Incremental per person (macros/person_increments.sql): kept at the epoch,
-- nothing here moves when only as_of does, so a run recomputes the persons
-- int_persons_changed marked, those with an order crossing "up to as_of",
-- and those whose activity counts differ from the copy kept here (activity
-- recomputed them). A score kept as of as_of instead moved for every
-- person with any engagement at every run, and rebuilding it for all of
-- them was about 1 s of each incremental build at 100k customers.
{%- set half_life = var('engagement_half_life_days') %}
{%- set weights = var('engagement_weights') %}
{#- activity's columns copied here: selected below, and compared by the
    pre-hook (rendered into its text, so the two lists cannot drift) -#}
{%- set copied = ['email_opens_decayed_at_epoch', 'email_clicks_decayed_at_epoch',
                  'web_sessions_decayed_at_epoch', 'add_to_carts_decayed_at_epoch', 'decay_epoch'] %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin(
            [['int_orders_attributed', 'ordered_at', 'person_id']],
            [0],
            [var('engagement_half_life_days'), var('engagement_weights')],
            copied=[" ~ tojson(['int_persons_activity_aggregated'] + copied) ~ "]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks
run as (

    select {{ as_of() }} as as_of

),

activity as (

    select * from {{ ref('int_persons_activity_aggregated') }}
    where {{ persons_increment_filter('person_id') }}

),

orders as (

    select person_id, ordered_at from {{ ref('int_orders_attributed') }}
    where person_id is not null
        and is_revenue
        and {{ persons_increment_filter('person_id') }}

),

orders_decayed as (

    select
        orders.person_id,
        sum({{ decay_at_epoch('orders.ordered_at', half_life, 'activity.decay_epoch') }}) as orders_decayed_at_epoch
    from orders
    inner join activity
        on orders.person_id = activity.person_id
    cross join run
    where orders.ordered_at <= run.as_of
    group by orders.person_id

),

components as (

    select
        activity.person_id,
        {%- for column in copied %}
        activity.{{ column }},
        {%- endfor %}
        coalesce(orders_decayed.orders_decayed_at_epoch, 0) as orders_decayed_at_epoch
    from activity
    left join orders_decayed
        on activity.person_id = orders_decayed.person_id

),

weighted as (

    select
        person_id,
        email_opens_decayed_at_epoch,
        email_clicks_decayed_at_epoch,
        web_sessions_decayed_at_epoch,
        add_to_carts_decayed_at_epoch,
        orders_decayed_at_epoch,
        {{ weights['email_open'] }} * email_opens_decayed_at_epoch
        + {{ weights['email_click'] }} * email_clicks_decayed_at_epoch
        + {{ weights['web_session'] }} * web_sessions_decayed_at_epoch
        + {{ weights['add_to_cart'] }} * add_to_carts_decayed_at_epoch
        + {{ weights['order'] }} * orders_decayed_at_epoch as engagement_points_at_epoch,
        decay_epoch
    from components

)

select * from weighted
