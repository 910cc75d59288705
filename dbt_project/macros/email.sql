-- Email normalisation and validity, shared by staging models and the
-- contactability view so every layer agrees on what "the same email" is.
{% macro normalize_email(column_name) -%}
    nullif(lower(trim({{ column_name }})), '')
{%- endmacro %}


{% macro email_regex() -%}
    '^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$'
{%- endmacro %}


{% macro is_valid_email(column_name) -%}
    coalesce({{ normalize_email(column_name) }} ~ {{ email_regex() }}, false)
{%- endmacro %}
