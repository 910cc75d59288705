-- Current state of shop.web_events, kept up to date from the CDC change log.
-- Beyond the folder's indexes: the identity graph looks up the anonymous ids
-- of the customers whose identifiers changed (int_identifiers_normalized).
{{ config(indexes=[
    {'columns': ['_pk'], 'unique': true},
    {'columns': ['_landing_id']},
    {'columns': ['customer_id']},
]) }}
with

source as (

    {{ cdc_current_state('web_events') }}

),

renamed as (

    select
        -- ids
        {{ cdc_field('event_id', 'bigint') }} as web_event_id,
        {{ cdc_field('message_id') }} as message_id,
        {{ cdc_field('customer_id', 'bigint') }} as customer_id,
        {{ cdc_field('anonymous_id') }} as anonymous_id,
        {{ cdc_field('device_id') }} as device_id,
        {{ cdc_field('session_id') }} as session_id,
        {{ cdc_field('product_id', 'integer') }} as product_id,
        {{ cdc_field('order_id', 'bigint') }} as order_id,

        -- event
        {{ cdc_field('event_type') }} as event_type,
        {{ cdc_field('url') }} as url,
        {{ cdc_field('referrer') }} as referrer,
        {{ cdc_field('user_agent') }} as user_agent,
        {{ cdc_field('timezone') }} as timezone,
        {{ cdc_jsonb('properties') }} as properties,

        -- collector (tailor.collect) facts about the call, null for other writers
        {{ cdc_jsonb('properties') }} -> '_tailor' ->> 'type' as call_type,
        {{ cdc_jsonb('properties') }} -> '_tailor' ->> 'user_id' as user_id,
        {{ cdc_jsonb('properties') }} -> '_tailor' ->> 'source_kind' as source_kind,

        -- timestamps
        {{ cdc_field('occurred_at', 'timestamptz') }} as occurred_at,
        {{ cdc_field('received_at', 'timestamptz') }} as received_at,

        -- change log: key, change and landing
        {{ cdc_meta_columns() }}

    from source

)

select * from renamed
