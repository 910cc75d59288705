-- How far the change log of each shop table reaches: the default "as of"
-- of a run (as_of()) and a freshness signal. 1:1 with the landing table.
-- A view (not cdc_incremental like its siblings): an aggregate of the log,
-- not the state of a shop table.
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('shop', 'cdc_events') }}

),

renamed as (

    select
        -- ids
        source_table,

        -- watermarks
        count(*) as change_count,
        max(source_lsn) as last_source_lsn,
        max(source_ts) as last_source_ts,
        max(landed_at) as last_landed_at

    from source
    group by source_table

)

select * from renamed
