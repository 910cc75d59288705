-- Schemas are exactly the layer names (staging, intermediate, marts), not
-- dbt's default "<target schema>_<custom schema>": the warehouse contract
-- in DESIGN.md names them, and other components read them.
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
