-- One segment per person: among the person's memberships the segment with
-- the lowest priority number wins (then the higher weight, then the name).
-- This is what exports read.
with

memberships as (

    select * from {{ ref('segment_memberships') }}

),

segments as (

    select * from {{ ref('segments') }}

),

ranked as (

    select
        memberships.person_id,
        memberships.segment,
        segments.priority,
        memberships.weight,
        memberships.reason,
        count(*) over (partition by memberships.person_id) as candidate_count,
        row_number() over (
            partition by memberships.person_id
            order by segments.priority, memberships.weight desc, memberships.segment
        ) as assignment_rank,
        memberships.computed_at
    from memberships
    inner join segments
        on memberships.segment = segments.segment

),

final as (

    select
        person_id,
        segment,
        priority,
        weight,
        reason,
        candidate_count,
        computed_at
    from ranked
    where assignment_rank = 1

)

select * from final
