-- Current state of shop.email_events, kept up to date from the CDC change log.
-- Beyond the folder's indexes: person-grain features look events up by
-- customer and by time (the events crossing a window edge as as_of moves).
{{ config(indexes=[
    {'columns': ['_pk'], 'unique': true},
    {'columns': ['_landing_id']},
    {'columns': ['customer_id']},
    {'columns': ['occurred_at']},
]) }}
with

source as (

    {{ cdc_current_state('email_events') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('event_id', 'bigint') }} as email_event_id,
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,
        {{ cdc_field('campaign_id') }} as campaign_id,

        -- recipient
        {{ cdc_field('email') }} as email,
        {{ normalize_email("record ->> 'email'") }} as email_normalized,

        -- event
        {{ cdc_field('event_type') }} as event_type,
        {{ cdc_field('event_type') }} in ('open', 'click') as is_engagement,
        {{ cdc_field('event_type') }} in ('bounce', 'unsubscribe', 'spam_report') as is_suppression_signal,
        {{ cdc_field('url') }} as url,

        -- timestamps
        {{ cdc_field('occurred_at', 'timestamptz') }} as occurred_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
