-- Fails for values outside [min_value, max_value] (nulls pass: use not_null
-- for those), e.g. RFM scores 1-5 and segment weights 0-1.
{% test is_between(model, column_name, min_value, max_value) %}
    select {{ column_name }} as failing_value
    from {{ model }}
    where {{ column_name }} < {{ min_value }}
        or {{ column_name }} > {{ max_value }}
{% endtest %}
