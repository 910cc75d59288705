-- Web and email activity per person up to as_of: counts in the short and
-- long windows (vars activity_window_days, long_activity_window_days), email
-- send/open/click rates, the time-decayed counts the engagement score is made
-- of (int_persons_engagement_weighted), the preferred device, and the last
-- time we saw them at all. Nothing after as_of counts.
--
-- Web events include anonymous ones stitched to a customer through their
-- anonymous id or device (int_web_events_stitched).
--
-- Each event table is read once: web events are summarised per session and
-- email events per message first, then those summaries per person, so the
-- per-event work is a handful of filtered counts and one decay term.
--
-- Incremental per person (macros/person_increments.sql): a run recomputes
-- the persons int_persons_changed marked since the last one and those with
-- an event crossing a window edge as as_of moved. The decayed counts are
-- kept decayed to the decay epoch (decay_epoch column), so they do not move
-- with as_of: int_persons_engagement_weighted weighs them, still as of the
-- epoch, and customer_profiles scales the sum to as_of.
{%- set short_days = var('activity_window_days') %}
{%- set long_days = var('long_activity_window_days') %}
{%- set device_days = var('preferred_device_window_days') %}
{%- set half_life = var('engagement_half_life_days') %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin(
            [['int_web_events_stitched', 'occurred_at'], ['stg_shop__email_events', 'occurred_at']],
            [0, var('activity_window_days'), var('long_activity_window_days'), var('preferred_device_window_days')],
            [var('engagement_half_life_days')]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
with

-- as_of() once: unset, it is a scan of the change log's watermarks, which
-- every reference would repeat
run as (

    select
        {{ as_of() }} as as_of,
        {{ as_of() }} - interval '{{ short_days }} days' as short_window_start,
        {{ as_of() }} - interval '{{ long_days }} days' as long_window_start,
        {{ as_of() }} - interval '{{ device_days }} days' as device_window_start,
        {{ decay_epoch() }} as epoch

),

customers as (

    select customer_id, person_id from {{ ref('int_customers_resolved') }}
    where {{ persons_increment_filter('person_id') }}

),

web_events as (

    select * from {{ ref('int_web_events_stitched') }}
    where customer_id is not null
        and {{ persons_increment_records('customer_id', 'customers') }}

),

email_events as (

    select * from {{ ref('stg_shop__email_events') }}
    where customer_id is not null
        and {{ persons_increment_records('customer_id', 'customers') }}

),

devices as (

    select device_id, device_type from {{ ref('stg_shop__devices') }}

),

-- one row per (person, session); events without a session (server-side
-- calls) gather in one row per person with a null session_id, which counts
-- its events but is no session
web_sessions as (

    select
        customers.person_id,
        web_events.session_id,
        min(web_events.occurred_at) as started_at,
        max(web_events.occurred_at) as last_event_at,
        max(web_events.device_id) as device_id,
        count(*) filter (where web_events.occurred_at > run.short_window_start) as events_short,
        count(*) filter (where web_events.event_type = 'page_view' and web_events.occurred_at > run.short_window_start) as page_views_short,
        count(*) filter (where web_events.event_type = 'product_view' and web_events.occurred_at > run.short_window_start) as product_views_short,
        count(*) filter (where web_events.event_type = 'product_view' and web_events.occurred_at > run.long_window_start) as product_views_long,
        count(*) filter (where web_events.event_type = 'add_to_cart' and web_events.occurred_at > run.short_window_start) as add_to_carts_short,
        count(*) filter (where web_events.event_type = 'add_to_cart' and web_events.occurred_at > run.long_window_start) as add_to_carts_long,
        coalesce(sum({{ decay_at_epoch('web_events.occurred_at', half_life, 'run.epoch') }})
            filter (where web_events.event_type = 'add_to_cart'), 0) as add_to_carts_decayed,
        max(web_events.occurred_at) filter (where web_events.event_type = 'add_to_cart') as last_add_to_cart_at
    from web_events
    cross join run
    inner join customers
        on web_events.customer_id = customers.customer_id
    where web_events.occurred_at <= run.as_of
    group by customers.person_id, web_events.session_id

),

web_by_person as (

    select
        web_sessions.person_id,
        sum(web_sessions.events_short) as web_events_short,
        sum(web_sessions.page_views_short) as page_views_short,
        sum(web_sessions.product_views_short) as product_views_short,
        sum(web_sessions.product_views_long) as product_views_long,
        sum(web_sessions.add_to_carts_short) as add_to_carts_short,
        sum(web_sessions.add_to_carts_long) as add_to_carts_long,
        -- a session is in a window when any of its events is
        count(web_sessions.session_id) filter (where web_sessions.last_event_at > run.short_window_start) as sessions_short,
        count(web_sessions.session_id) filter (where web_sessions.last_event_at > run.long_window_start) as sessions_long,
        -- a session weighs from when it started
        coalesce(sum({{ decay_at_epoch('web_sessions.started_at', half_life, 'run.epoch') }})
            filter (where web_sessions.session_id is not null), 0) as web_sessions_decayed,
        sum(web_sessions.add_to_carts_decayed) as add_to_carts_decayed,
        max(web_sessions.last_event_at) as last_web_event_at,
        max(web_sessions.last_add_to_cart_at) as last_add_to_cart_at
    from web_sessions
    cross join run
    group by web_sessions.person_id

),

-- the device type a person used for the most sessions in the device window;
-- ties go to the type used last, then alphabetically
preferred_devices as (

    select distinct on (web_sessions.person_id)
        web_sessions.person_id,
        devices.device_type as preferred_device_type
    from web_sessions
    cross join run
    inner join devices
        on web_sessions.device_id = devices.device_id
    where web_sessions.session_id is not null
        and web_sessions.last_event_at > run.device_window_start
        and devices.device_type is not null
    group by web_sessions.person_id, devices.device_type
    order by web_sessions.person_id, count(*) desc, max(web_sessions.last_event_at) desc, devices.device_type

),

-- one row per email message: a campaign to one customer record (an event
-- without a campaign stands alone). A click counts as an open too: image
-- blocking hides opens, never clicks.
email_messages as (

    select
        customers.person_id,
        min(email_events.occurred_at) filter (where email_events.event_type = 'sent') as sent_at,
        min(email_events.occurred_at) filter (where email_events.is_engagement) as first_engaged_at,
        max(email_events.occurred_at) filter (where email_events.is_engagement) as last_engaged_at,
        min(email_events.occurred_at) filter (where email_events.event_type = 'click') as first_clicked_at,
        count(*) filter (where email_events.event_type = 'open' and email_events.occurred_at > run.short_window_start) as open_events_short,
        count(*) filter (where email_events.event_type = 'click' and email_events.occurred_at > run.short_window_start) as click_events_short
    from email_events
    cross join run
    inner join customers
        on email_events.customer_id = customers.customer_id
    where email_events.occurred_at <= run.as_of
    group by
        customers.person_id,
        email_events.customer_id,
        coalesce(email_events.campaign_id, 'event:' || email_events.email_event_id)

),

-- rates are per message sent in the window: opened (or clicked) by as_of
-- over sent; the engagement score counts each message once, from its
-- first open and first click, so repeated opens do not inflate it
email_by_person as (

    select
        email_messages.person_id,
        sum(email_messages.open_events_short) as email_opens_short,
        sum(email_messages.click_events_short) as email_clicks_short,
        count(*) filter (where email_messages.sent_at > run.short_window_start) as email_sends_short,
        count(*) filter (where email_messages.sent_at > run.long_window_start) as email_sends_long,
        count(*) filter (where email_messages.sent_at > run.short_window_start and email_messages.first_engaged_at is not null) as emails_opened_short,
        count(*) filter (where email_messages.sent_at > run.long_window_start and email_messages.first_engaged_at is not null) as emails_opened_long,
        count(*) filter (where email_messages.sent_at > run.short_window_start and email_messages.first_clicked_at is not null) as emails_clicked_short,
        count(*) filter (where email_messages.sent_at > run.long_window_start and email_messages.first_clicked_at is not null) as emails_clicked_long,
        coalesce(sum({{ decay_at_epoch('email_messages.first_engaged_at', half_life, 'run.epoch') }}), 0) as email_opens_decayed,
        coalesce(sum({{ decay_at_epoch('email_messages.first_clicked_at', half_life, 'run.epoch') }}), 0) as email_clicks_decayed,
        max(email_messages.last_engaged_at) as last_email_engagement_at
    from email_messages
    cross join run
    group by email_messages.person_id

),

persons as (

    select distinct person_id from customers

),

aggregated as (

    select
        persons.person_id,

        -- web, short window (column names carry the default window)
        coalesce(web_by_person.web_events_short, 0) as web_events_30d,
        coalesce(web_by_person.page_views_short, 0) as page_views_30d,
        coalesce(web_by_person.product_views_short, 0) as product_views_30d,
        coalesce(web_by_person.add_to_carts_short, 0) as add_to_carts_30d,
        coalesce(web_by_person.sessions_short, 0) as sessions_30d,

        -- web, long window
        coalesce(web_by_person.product_views_long, 0) as product_views_90d,
        coalesce(web_by_person.add_to_carts_long, 0) as add_to_carts_90d,
        coalesce(web_by_person.sessions_long, 0) as sessions_90d,

        -- email events, short window
        coalesce(email_by_person.email_opens_short, 0) as email_opens_30d,
        coalesce(email_by_person.email_clicks_short, 0) as email_clicks_30d,

        -- email messages and rates (null without a send in the window)
        coalesce(email_by_person.email_sends_short, 0) as email_sends_30d,
        coalesce(email_by_person.email_sends_long, 0) as email_sends_90d,
        round(email_by_person.emails_opened_short::numeric / nullif(email_by_person.email_sends_short, 0), 4) as email_open_rate_30d,
        round(email_by_person.emails_opened_long::numeric / nullif(email_by_person.email_sends_long, 0), 4) as email_open_rate_90d,
        round(email_by_person.emails_clicked_short::numeric / nullif(email_by_person.email_sends_short, 0), 4) as email_click_rate_30d,
        round(email_by_person.emails_clicked_long::numeric / nullif(email_by_person.email_sends_long, 0), 4) as email_click_rate_90d,

        -- time-decayed counts (engagement_half_life_days), as of the decay epoch
        coalesce(email_by_person.email_opens_decayed, 0) as email_opens_decayed_at_epoch,
        coalesce(email_by_person.email_clicks_decayed, 0) as email_clicks_decayed_at_epoch,
        coalesce(web_by_person.web_sessions_decayed, 0) as web_sessions_decayed_at_epoch,
        coalesce(web_by_person.add_to_carts_decayed, 0) as add_to_carts_decayed_at_epoch,
        run.epoch as decay_epoch,

        -- context
        preferred_devices.preferred_device_type,

        -- recency
        web_by_person.last_web_event_at,
        web_by_person.last_add_to_cart_at,
        email_by_person.last_email_engagement_at

    from persons
    cross join run
    left join web_by_person
        on persons.person_id = web_by_person.person_id
    left join email_by_person
        on persons.person_id = email_by_person.person_id
    left join preferred_devices
        on persons.person_id = preferred_devices.person_id

)

select * from aggregated
