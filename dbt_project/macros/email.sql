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


-- The person a customer record belongs to (simple resolution, until full
-- identity resolution lands): one person per normalised valid email, a
-- stable md5-based id; records without a valid email stand alone.
{% macro person_id(email_normalized, is_valid_email, customer_id) -%}
    case
        when {{ is_valid_email }} then 'p_' || md5({{ email_normalized }})
        else 'c_' || {{ customer_id }}::text
    end
{%- endmacro %}
