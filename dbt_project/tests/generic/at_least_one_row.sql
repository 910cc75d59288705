-- Fails when the model is empty: an empty mart is a broken pipeline, not a
-- quiet day (every downstream export would send nothing, or delete everyone).
{% test at_least_one_row(model) %}
    select 1 as failure
    where not exists (select 1 from {{ model }})
{% endtest %}
