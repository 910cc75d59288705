-- Tables with an enforced contract: built with CREATE TABLE AS, then one
-- ALTER TABLE adds every constraint the YAML declares.
--
-- dbt-postgres builds a contracted table as CREATE TABLE (columns and
-- constraints) followed by INSERT ... SELECT: row-by-row inserts with every
-- index maintained per row, 1.5-2.5x slower than CREATE TABLE AS here (a
-- 368k-row table: 3.0 s against 1.7 s). A constraint that fails on insert
-- also prints the whole failing row (customer names and emails) into the
-- dbt and Airflow logs. Added afterwards, Postgres checks every NOT NULL and
-- CHECK in one scan of the new table and builds unique indexes by sorting;
-- a violation names the constraint, never the row's content ("column x
-- contains null values", "check constraint ... is violated by some row";
-- a duplicate key names the key only).
--
-- Same result as dbt's own path: the contract's column check runs first
-- (get_assert_columns_equivalent), columns come out in the contract's order
-- cast to its data types, and constraints are those of the YAML. Tables
-- without a contract go to dbt-postgres unchanged.
--
-- An incremental run's batch (the temporary table its rows are selected
-- into, then inserted from) gets the contract's constraints the same way,
-- but foreign keys (a temporary table's may only reference temporary
-- ones): a broken rule then fails the build at the ALTER, naming the
-- constraint, where the insert into the model's table would have failed
-- with the whole row in its message ("Failing row contains (...)"). The
-- insert still checks uniqueness against the rows already in the table
-- (its message names the key only).
{% macro postgres__create_table_as(temporary, relation, sql) -%}
  {%- set contract_config = config.get('contract') -%}
  {%- if not contract_config.enforced -%}
    {{ return(dbt.postgres__create_table_as(temporary, relation, sql)) }}
  {%- endif -%}
  {%- if temporary -%}
    {{ dbt.postgres__create_table_as(temporary, relation, sql) }};
    {%- set constraints = tailor_contract_constraints(foreign_keys=false) %}
    {%- if constraints %}
    alter table {{ relation }}
      {{ constraints | join(',\n      ') }};
    {%- endif %}
  {%- else -%}
  {%- set unlogged = config.get('unlogged', default=false) -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {{ sql_header if sql_header is not none }}
  {{ get_assert_columns_equivalent(sql) }}
  create {% if unlogged %}unlogged {% endif %}table {{ relation }} as (
    select
    {%- for column in model['columns'].values() %}
      cast({{ tailor_contract_column(column) }} as {{ column['data_type'] }}) as {{ tailor_contract_column(column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from (
      {{ sql }}
    ) as model_subq
  );
  {%- set constraints = tailor_contract_constraints() %}
  {%- if constraints %}
  alter table {{ relation }}
    {{ constraints | join(',\n    ') }};
  {%- endif %}
  -- statistics now: the next model reads this table seconds later, long
  -- before autovacuum would sample it, and without them the planner takes
  -- a fresh table for a few pages (nested loops over hundreds of thousands of rows).
  -- A 9,000-row sample (statistics target 30, not the default 100's 30,000):
  -- row counts, null fractions and key cardinalities are what these plans
  -- need, and the default's sample cost 1.6 s on customer_profiles' 80
  -- columns at 100k people (0.4 s at 30). `set local` ends with the model's
  -- transaction. A wide table whose readers filter and join on a few of its
  -- columns names them (config `analyze_columns`): the row count and those
  -- columns' statistics are what their plans need (customer_profiles: 0.03 s
  -- against 0.18 s for all 80).
  set local default_statistics_target = 30;
  {%- set analyze_columns = config.get('analyze_columns', none) %}
  analyze {{ relation }}{% if analyze_columns %} ({{ analyze_columns | join(', ') }}){% endif %};
  {%- endif %}
{%- endmacro %}


{% macro tailor_contract_column(column) -%}
  {{ adapter.quote(column['name']) if column.get('quote') else column['name'] }}
{%- endmacro %}


-- The ALTER TABLE subcommands for the model's constraints, column level
-- then model level; without foreign keys if `foreign_keys` is false.
{% macro tailor_contract_constraints(foreign_keys=true) %}
  {%- set commands = [] -%}
  {%- for column in model['columns'].values() -%}
    {%- set name = tailor_contract_column(column) -%}
    {%- for constraint in column.get('constraints', []) if foreign_keys or constraint['type'] != 'foreign_key' -%}
      {%- if constraint['type'] == 'not_null' -%}
        {%- do commands.append('alter column ' ~ name ~ ' set not null') -%}
      {%- else -%}
        {%- do commands.append(tailor_contract_constraint(constraint, [name])) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for constraint in model.get('constraints', []) if foreign_keys or constraint['type'] != 'foreign_key' -%}
    {%- if constraint['type'] == 'not_null' -%}
      {%- for name in constraint.get('columns', []) -%}
        {%- do commands.append('alter column ' ~ name ~ ' set not null') -%}
      {%- endfor -%}
    {%- else -%}
      {%- do commands.append(tailor_contract_constraint(constraint, constraint.get('columns', []))) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(commands) }}
{% endmacro %}


{% macro tailor_contract_constraint(constraint, columns) -%}
  {%- set kind = constraint['type'] -%}
  {%- set named = ('constraint ' ~ constraint['name'] ~ ' ') if constraint.get('name') else '' -%}
  {%- if kind == 'check' -%}
    {{ return('add ' ~ named ~ 'check (' ~ constraint['expression'] ~ ')') }}
  {%- elif kind == 'primary_key' -%}
    {{ return('add ' ~ named ~ 'primary key (' ~ columns | join(', ') ~ ')') }}
  {%- elif kind == 'unique' -%}
    {{ return('add ' ~ named ~ 'unique (' ~ columns | join(', ') ~ ')') }}
  {%- elif kind == 'foreign_key' -%}
    {{ return('add ' ~ named ~ 'foreign key (' ~ columns | join(', ') ~ ') references ' ~ constraint['expression']) }}
  {%- elif kind == 'custom' -%}
    {{ return('add ' ~ named ~ constraint['expression']) }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error("constraint type '" ~ kind ~ "' on " ~ model['name'] ~ " is not supported by tailor's contract build (macros/contracts.sql)") }}
{%- endmacro %}


-- dbt's contract check reads the declared types from an empty select; its
-- default also warns that a bare `numeric` "can lead to unintended
-- rounding". True where numeric means scale 0 (Snowflake's number); on
-- Postgres an unconstrained numeric keeps every digit, so a contract
-- saying `numeric` is exact and the warning would only be noise in every
-- build. Otherwise dbt's macro as it is.
{% macro postgres__get_empty_schema_sql(columns) %}
    {%- set col_err = [] -%}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- if col['data_type'] is not defined -%}
        {%- do col_err.append(col['name']) -%}
      {%- endif -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      {{ cast('null', col['data_type']) }} as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if (col_err | length) > 0 -%}
      {{ exceptions.column_type_missing(column_names=col_err) }}
    {%- endif -%}
{% endmacro %}


-- ---- for tests/generic/constraints_hold.sql --------------------------------

-- The graph node of the model a generic test is attached to.
{% macro tailor_model_node(model) %}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.schema == model.schema and node.alias == model.identifier -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no model node for " ~ model) }}
{% endmacro %}


-- The rules one declared constraint stands for, each a dict:
--     label       how constraints_hold (and the cdc_incremental build) name it
--     test        'null' (`columns[0]` is null), 'repeat' (a complete,
--                 non-null key in `columns` repeats) or 'check'
--                 (`expression` is false; null passes, as in a table)
--     columns, expression
-- Shared by constraints_hold's counts (tailor_constraint_checks) and the
-- constraints cdc_incremental puts on its state tables
-- (cdc_state_rules in cdc_incremental.sql), so both name and mean the same.
{% macro tailor_constraint_rules(constraint, columns, node) %}
    {%- set kind = constraint.type -%}
    {%- set rules = [] -%}
    {%- if kind in ('not_null', 'primary_key') -%}
        {%- for column in columns -%}
            {%- do rules.append({'label': kind ~ ' ' ~ column ~ ': null', 'test': 'null', 'columns': [column]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if kind in ('unique', 'primary_key') -%}
        {%- do rules.append({'label': kind ~ ' (' ~ columns | join(', ') ~ '): repeated', 'test': 'repeat',
            'columns': columns}) -%}
    {%- elif kind == 'check' -%}
        {%- do rules.append({'label': 'check (' ~ constraint.expression ~ ')', 'test': 'check',
            'columns': columns, 'expression': constraint.expression}) -%}
    {%- elif kind != 'not_null' -%}
        {{ exceptions.raise_compiler_error("constraints_hold on " ~ node.name ~ ": cannot check a '" ~ kind ~ "' constraint") }}
    {%- endif -%}
    {{ return(rules) }}
{% endmacro %}


-- Every rule a model's YAML declares: column constraints, then model-level ones.
{% macro tailor_model_rules(node) %}
    {%- set rules = [] -%}
    {%- for column in node.columns.values() -%}
        {%- for constraint in column.constraints -%}
            {%- do rules.extend(tailor_constraint_rules(constraint, [column.name], node)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for constraint in node.constraints -%}
        {%- do rules.extend(tailor_constraint_rules(constraint, constraint.columns or [], node)) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


-- A complete key: every column of it not null.
{% macro tailor_key_complete(columns) -%}
    {%- set complete = [] -%}
    {%- for column in columns -%}
        {%- do complete.append(column ~ ' is not null') -%}
    {%- endfor -%}
    {{- return(complete | join(' and ')) -}}
{%- endmacro %}


-- [(label, failing-row count expression)] for the rules, over all rows read.
{% macro tailor_constraint_checks(rules) %}
    {%- set checks = [] -%}
    {%- for rule in rules -%}
        {%- if rule.test == 'null' -%}
            {%- do checks.append((rule.label, 'count(*) filter (where ' ~ rule.columns[0] ~ ' is null)')) -%}
        {%- elif rule.test == 'repeat' -%}
            {%- set key = rule.columns | join(', ') -%}
            {%- set where = tailor_key_complete(rule.columns) -%}
            {%- set distinct = ('(' ~ key ~ ')') if rule.columns | length > 1 else key -%}
            {%- do checks.append((rule.label,
                'count(*) filter (where ' ~ where ~ ') - count(distinct ' ~ distinct ~ ') filter (where ' ~ where ~ ')')) -%}
        {%- else -%}
            {%- do checks.append((rule.label, 'count(*) filter (where (' ~ rule.expression ~ ') is false)')) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(checks) }}
{% endmacro %}


-- dbt's contract check (the SQL's columns against the YAML's, by name and
-- type) in one round trip instead of two: dbt runs the model's SQL with
-- `limit 0` and, separately, an empty select casting null to every declared
-- type, then compares the two column lists. Here both selects are joined
-- into one (`cross join`, no rows either way) and the cursor's columns are
-- split after the declared ones. Each round trip costs dbt a few
-- milliseconds of Python in the threads that run the other models; the
-- comparison and its error are dbt's own. With an sql_header (statements
-- that must run first) dbt's two queries run as they are.
{% macro postgres__get_assert_columns_equivalent(sql) -%}
  {%- set declared = model['columns'] -%}
  {%- if not declared or config.get('sql_header', none) is not none -%}
    {{ return(dbt.default__get_assert_columns_equivalent(sql)) }}
  {%- endif -%}
  {%- set both = adapter.get_column_schema_from_query(
      'select * from (' ~ get_empty_schema_sql(declared) ~ ') as tailor_declared cross join ('
      ~ get_empty_subquery_sql(sql) ~ ') as tailor_model') -%}
  {%- set yaml_columns = format_columns(both[:declared | length]) -%}
  {%- set sql_columns = format_columns(both[declared | length:]) -%}
  {%- if sql_columns | length != yaml_columns | length -%}
    {%- do exceptions.raise_contract_error(yaml_columns, sql_columns) -%}
  {%- endif -%}
  {%- for sql_col in sql_columns -%}
    {%- set yaml_col = [] -%}
    {%- for this_col in yaml_columns -%}
      {%- if this_col['name'] == sql_col['name'] -%}
        {%- do yaml_col.append(this_col) -%}
        {%- break -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if not yaml_col or sql_col['formatted'] != yaml_col[0]['formatted'] -%}
      {%- do exceptions.raise_contract_error(yaml_columns, sql_columns) -%}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}
