-- Every candidate membership: the union of all segment models (models
-- tagged `segment`, found in the graph), one row per person and segment.
{{ declare_segment_dependencies() }}
{%- set segments = segment_nodes() %}
with

unioned as (

    {%- for node in segments %}
    select
        person_id::text as person_id,
        '{{ segment_name(node) }}'::text as segment,
        least(greatest(weight, 0), 1)::numeric(5, 4) as weight,
        reason::text as reason
    from {{ segment_relation(node) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not segments %}
    select
        null::text as person_id,
        null::text as segment,
        null::numeric(5, 4) as weight,
        null::text as reason
    where false
    {%- endif %}

),

final as (

    select
        person_id || '-' || segment as membership_id,
        person_id,
        segment,
        weight,
        reason,
        {{ as_of() }} as computed_at
    from unioned

)

select * from final
