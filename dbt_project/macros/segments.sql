-- Segment discovery: every model tagged `segment` (all of models/marts/segments/)
-- is a segment. Analysts add one SQL file + its YAML; nothing else to edit.

-- The segment models, sorted by name, as graph nodes (execute time only).
{% macro segment_nodes() -%}
    {%- set nodes = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model'
            and 'segment' in node.tags
            and node.name.startswith('seg_') -%}
            {%- do nodes.append(node) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(nodes | sort(attribute='name')) }}
{%- endmacro %}


-- A segment's name (file name without `seg_`) and its meta.segment block.
{% macro segment_name(node) -%}
    {{ return(node.name[4:]) }}
{%- endmacro %}


{% macro segment_meta(node) -%}
    {%- set meta = node.config.get('meta', {}) or node.get('meta', {}) or {} -%}
    {{ return(meta.get('segment', {})) }}
{%- endmacro %}


-- Where a segment model's rows are. A ref() when the model declared the
-- dependency at parse time (the `segment_models` var, which `tailor dbt`,
-- the Airflow DAG and the tests fill from the segments folder); otherwise
-- the relation by name, with a warning that build order is not guaranteed.
{% macro segment_relation(node) -%}
    {%- if node.unique_id in model.depends_on.nodes -%}
        {{ return(ref(node.name)) }}
    {%- else -%}
        {%- do exceptions.warn(
            "Segment model " ~ node.name ~ " is not a declared dependency of " ~ model.name
            ~ ": run dbt through `tailor dbt ...` (it passes --vars segment_models) so that "
            ~ "segments are built before they are unioned."
        ) -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endif -%}
{%- endmacro %}


-- Parse-time dependencies on the segment models named in var segment_models:
-- dbt only learns dependencies from refs rendered while parsing, when the
-- graph is still empty.
{% macro declare_segment_dependencies() -%}
    {%- for name in var('segment_models', []) %}
-- depends_on: {{ ref(name) }}
    {%- endfor %}
{%- endmacro %}


-- A Python string as an SQL literal, quotes escaped (YAML text into SQL).
{% macro sql_string(value) -%}
    '{{ (value or "") | string | replace("'", "''") }}'
{%- endmacro %}
