-- Fails for every row where a SQL expression is not true (false or null):
-- the invariants between columns a single-column test cannot state, e.g.
--     data_tests:
--       - expression_is_true:
--           arguments: {expression: "customer_id_l < customer_id_r"}
-- On a column, the expression continues the column name:
--     - name: frequency
--       data_tests:
--         - expression_is_true:
--             arguments: {expression: ">= 1"}
-- Rows the invariant does not cover are left out with a `where` config.
{% test expression_is_true(model, expression, column_name=none) %}
    {%- set condition = (column_name ~ ' ' ~ expression) if column_name else expression %}
    select *
    from {{ model }}
    where ({{ condition }}) is not true
{% endtest %}
