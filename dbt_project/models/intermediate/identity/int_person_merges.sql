-- History of person_id changes: every merge (an id retired into the one
-- that survived) and split (records leaving an id for a new one), one row
-- per (from id, to id) and run, with the run's as_of time.
--
-- Append-only (incremental, never fully refreshed): read from the last
-- change each int_person_map row carries; an event already recorded is not
-- recorded again, so re-running a run, or running this model late, adds
-- each event once. Its rules are the contract's constraints, on each
-- run's batch and on the table, as for int_person_map (V090).
{{
    config(
        materialized='incremental',
        full_refresh=false,
        on_schema_change='fail'
    )
}}

with

person_map as (

    select * from {{ ref('int_person_map') }}
    where change in ('merged', 'split')

),

changes as (

    select
        previous_person_id as from_person_id,
        person_id as to_person_id,
        case change when 'merged' then 'merge' else 'split' end as change_type,
        count(*) as customer_count,
        min(customer_id) as example_customer_id,
        changed_at as recorded_at
    from person_map
    group by 1, 2, 3, 6

),

new_changes as (

    select changes.*
    from changes
    {% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as recorded
        where recorded.from_person_id = changes.from_person_id
            and recorded.to_person_id = changes.to_person_id
            and recorded.change_type = changes.change_type
            and recorded.recorded_at = changes.recorded_at
    )
    {% endif %}

)

select * from new_changes
