-- The segment catalogue: one row per segment model (models tagged
-- `segment`), with the priority and description from its YAML meta.
{%- set segments = segment_nodes() %}
with

catalogue as (

    {%- for node in segments %}
    {%- set meta = segment_meta(node) %}
    select
        '{{ segment_name(node) }}'::text as segment,
        '{{ node.name }}'::text as model_name,
        {{ meta.get('priority', 1000) | int }}::integer as priority,
        {{ sql_string(meta.get('description', node.description or '')) }}::text as description,
        {{ sql_string(meta.get('owner', '')) }}::text as owner
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not segments %}
    select
        null::text as segment,
        null::text as model_name,
        null::integer as priority,
        null::text as description,
        null::text as owner
    where false
    {%- endif %}

)

select * from catalogue
