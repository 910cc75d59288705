-- Identifier normalisation for the identity graph, shared by the graph
-- models and the send-time person lookup, so "the same email" and "the same
-- phone" mean one thing everywhere. Rules are dbt vars (dbt_project.yml).

-- The email as an identity key: lower-cased and trimmed (normalize_email),
-- then optionally without a +tag and, for Gmail, without dots in the local
-- part (Gmail ignores both, so they are one mailbox). Null for anything that
-- does not look like an email.
{% macro identity_email_key(column_name) -%}
    {%- set email = normalize_email(column_name) -%}
    {%- set local_part = "split_part(" ~ email ~ ", '@', 1)" -%}
    {%- set domain = "split_part(" ~ email ~ ", '@', 2)" -%}
    {%- if var('identity_email_strip_plus_tag', true) -%}
        {%- set local_part = "split_part(" ~ local_part ~ ", '+', 1)" -%}
    {%- endif -%}
    case
        when {{ email }} ~ {{ email_regex() }} then
            {%- if var('identity_email_gmail_dots', false) %}
            case
                when {{ domain }} in ('gmail.com', 'googlemail.com')
                    then replace({{ local_part }}, '.', '') || '@gmail.com'
                else {{ local_part }} || '@' || {{ domain }}
            end
            {%- else %}
            {{ local_part }} || '@' || {{ domain }}
            {%- endif %}
    end
{%- endmacro %}


-- A phone as an identity key: its digits only; null when fewer than 7
-- (an extension, a typo, a placeholder).
{% macro identity_phone_key(column_name) -%}
    nullif(
        case
            when length(regexp_replace({{ column_name }}, '[^0-9]', '', 'g')) >= 7
                then regexp_replace({{ column_name }}, '[^0-9]', '', 'g')
        end,
        ''
    )
{%- endmacro %}


-- The blocked values as a SQL list literal, lower-cased, for `not in (...)`.
{% macro identity_blocked_values() -%}
    {%- set values = var('identity_blocked_values', []) | map('lower') | list -%}
    ({%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}{%- if not values -%}null{%- endif -%})
{%- endmacro %}


-- The person id a new cluster gets: derived from its smallest customer_id,
-- so a rebuild from scratch issues the same ids.
{% macro new_person_id(customer_id) -%}
    'p_' || {{ customer_id }}::text
{%- endmacro %}
