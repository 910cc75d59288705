-- The cdc_incremental materialization: staging models over the CDC change
-- log, updated incrementally yet always as fresh as the log.
--
-- Two relations per model:
--   * `<model>__state`, a table: the model's typed rows plus tombstones of
--     deleted keys and the last truncate (meta columns from
--     cdc_meta_columns()). Each run applies only the changes landed after
--     its watermark, by key (`_pk`): a later change (source_lsn,
--     landing_id) replaces the row, an earlier one is ignored, a truncate
--     drops everything landed before it. The watermark is the whole change
--     log's highest landing_id when the state was last brought up to date
--     (kept in the table's comment, `cdc_applied_through=N`), not the
--     highest one of this table: a table that rarely changes (devices,
--     products) would otherwise have every later query walk the log from
--     its last change, past all other tables' changes since.
--   * `<model>`, a view: the state table with the changes landed since the
--     run applied on top (the same SQL with the new watermark, which the
--     planner sees as a literal, so right after a run it reads the state
--     table and an empty index range of raw.cdc_events). What send-time
--     views (contactability, int_customers_identified) rely on: a consent
--     withdrawn after the build is visible before the next one.
--
-- The model's compiled SQL (cdc_current_state, watermark 0, no upper bound)
-- is the whole current state; the literals are substituted here. A run reads
-- the log's highest landing_id first and applies up to it, so a change
-- landing meanwhile is left to the view's tail, never in both. A full refresh,
-- a missing state table or a change in the model's columns rebuilds the
-- state from the whole log. Changing how an existing column is computed
-- needs `dbt build --full-refresh -s <model>`, as for any incremental model.
--
-- Assumes changes land in landing_id order (one capture at a time, see
-- tailor.cdc.capture): a watermark never skips a change committed later
-- with a smaller landing_id.
--
-- Constraints: Postgres enforces the YAML's not_null / unique / primary_key /
-- check rules on the state table's live rows (`_op` in c, u, r; tombstones
-- and the truncate row have null model columns), see cdc_state_rules. So the
-- constraints_hold test of the view only reads its tail, and the keys where
-- tail and state could collide. A rebuilt state gets them in one ALTER TABLE
-- after CREATE TABLE AS (plus partial unique indexes), as contracted tables
-- do (macros/contracts.sql): a violation names the constraint, not the row
-- (a repeated key names the key's value, as for tables; no staging key is PII).
-- An incremental run counts the rows it is about to insert against the
-- rules first and fails naming the rule and its count, never the row (an
-- INSERT that breaks a constraint prints the whole row, names and emails,
-- in the error's DETAIL); the table's constraints are the second line of
-- defence. A state table whose constraints are not those of the YAML (built
-- before they were enforced, or a rule changed) is rebuilt.
{% macro cdc_with_watermark(sql, watermark, upper_bound=none) -%}
    {%- set sql = modules.re.sub('/\\*cdc_watermark\\*/ \\d+', '/*cdc_watermark*/ ' ~ (watermark | int), sql) -%}
    {%- if upper_bound is not none -%}
        {%- set sql = modules.re.sub(
            '/\\*cdc_upper_watermark\\*/ \\d+', '/*cdc_upper_watermark*/ ' ~ (upper_bound | int), sql) -%}
    {%- endif -%}
    {{- return(sql) -}}
{%- endmacro %}


{#- How far a state table from before the `cdc_applied_through` comment
    has applied the log: the highest landing_id it holds (the probe reads
    the comment). -#}
{% macro cdc_applied_through(state) -%}
    {{- return(cdc_scalar("select coalesce(max(_landing_id), 0) from " ~ state)) -}}
{%- endmacro %}


{% macro cdc_state_relation(relation) -%}
    {{- return(relation.incorporate(path={'identifier': relation.identifier ~ '__state'}, type='table')) -}}
{%- endmacro %}


{% macro cdc_scalar(query) -%}
    {%- set result = run_query(query) -%}
    {{- return(result.columns[0].values()[0]) -}}
{%- endmacro %}


{#- A relation's column names in order, comma-separated, as an SQL
    expression (null when there is no such relation): what
    get_columns_in_relation would list, read inside a query the build runs
    anyway instead of a round trip of its own. -#}
{% macro cdc_column_list_sql(relation) -%}
    (select string_agg(attname::text, ',' order by attnum) from pg_attribute
     where attrelid = to_regclass('{{ relation }}') and attnum > 0 and not attisdropped)
{%- endmacro %}


{% macro cdc_column_list(value) -%}
    {{- return(value.split(',') if value else []) -}}
{%- endmacro %}


{#- The state table's plain indexes, `unique:a,b` / `plain:a`, ';'-separated, as an SQL expression. -#}
{% macro cdc_index_list_sql(state) -%}
    (select coalesce(string_agg(case when i.indisunique then 'unique:' else 'plain:' end || (
        select string_agg(a.attname, ',' order by k.ord)
        from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
        join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum), ';'), '')
     from pg_index as i where i.indrelid = to_regclass('{{ state }}')
        and i.indpred is null and i.indexprs is null)
{%- endmacro %}


{#- Everything an incremental build must know before it starts, in one
    query (each round trip costs dbt a few milliseconds of Python, in the
    threads that run the other models): whether the state table exists, the
    change log's high mark, how far the state applied it (its comment), its
    rules, indexes and columns, and the view's columns. -#}
{% macro cdc_probe(state, rules, view) -%}
    {%- set row = run_query(
        "select to_regclass('" ~ state ~ "') is not null, "
        ~ "(select coalesce(max(landing_id), 0) from " ~ source('shop', 'cdc_events') ~ "), "
        ~ "substring(obj_description(to_regclass('" ~ state ~ "'), 'pg_class') "
        ~ "from 'cdc_applied_through=([0-9]+)')::bigint, "
        ~ cdc_state_rules_in_place_sql(state, rules) ~ ", "
        ~ cdc_index_list_sql(state) ~ ", "
        ~ cdc_column_list_sql(state) ~ ", "
        ~ cdc_column_list_sql(view)).rows[0] -%}
    {{- return({'state_exists': row[0], 'log_high': row[1], 'applied': row[2], 'rules_in_place': row[3],
        'indexes': (row[4] or '').split(';'), 'state_columns': cdc_column_list(row[5]),
        'view_columns': cdc_column_list(row[6])}) -}}
{%- endmacro %}


{% macro cdc_column_names(relation) -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(column.name) -%}
    {%- endfor -%}
    {{- return(names) -}}
{%- endmacro %}


{#- The model's declared rules (tailor_model_rules, macros/contracts.sql) as
    the state table enforces them, on live rows only: each rule with
    `name` (of its check constraint or unique index: `tailor_`, a hash of
    the definition, so a changed rule has a new name, and what it is about),
    `definition` (a check, or the unique index's columns and predicate) and
    `broken` (a row that breaks it; none for keys). -#}
{% macro cdc_state_rules(node, state) %}
    {%- set rules = [] -%}
    {%- set names = [] -%}
    {%- for rule in tailor_model_rules(node) -%}
        {%- if rule.test == 'null' -%}
            {%- set definition = "check (_op not in ('c', 'u', 'r') or " ~ rule.columns[0] ~ " is not null)" -%}
            {%- set broken = rule.columns[0] ~ ' is null' -%}
            {%- set about = rule.columns[0] ~ '_not_null' -%}
        {%- elif rule.test == 'check' -%}
            {%- set definition = "check (_op not in ('c', 'u', 'r') or (" ~ rule.expression ~ ") is not false)" -%}
            {%- set broken = '(' ~ rule.expression ~ ') is false' -%}
            {%- set about = (rule.columns | join('_') or 'row') ~ '_check' -%}
        {%- else -%}
            {%- set definition = '(' ~ rule.columns | join(', ') ~ ") where _op in ('c', 'u', 'r')" -%}
            {%- set broken = none -%}
            {%- set about = rule.columns | join('_') ~ '_key' -%}
        {%- endif -%}
        {%- set name = cdc_rule_name(state, definition, about) -%}
        {#- a column's not_null and a primary key over it are one constraint -#}
        {%- if name not in names -%}
            {%- do names.append(name) -%}
            {%- do rules.append({'label': rule.label, 'test': rule.test, 'columns': rule.columns,
                'name': name, 'about': about, 'definition': definition, 'broken': broken}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{#- Whether the state table holds exactly the rules' constraints and unique
    indexes (by name, so also not one of a rule since removed), as a boolean
    expression: false, not an error, when there is no state table. -#}
{% macro cdc_state_rules_in_place_sql(state, rules) -%}
    {%- set expected = [] -%}
    {%- for rule in rules -%}{%- do expected.append(rule.name) -%}{%- endfor -%}
    (to_regclass('{{ state }}') is not null and (
        select coalesce(string_agg(ours.name, ',' order by ours.name), '')
        from (
            select conname::text as name from pg_constraint where conrelid = to_regclass('{{ state }}')
            union all
            select index.relname::text from pg_index join pg_class as index on index.oid = pg_index.indexrelid
            where pg_index.indrelid = to_regclass('{{ state }}')
        ) as ours
        where ours.name like 'tailor\_%'
    ) = '{{ expected | sort | join(',') }}')
{%- endmacro %}


{% macro cdc_rule_name(relation, definition, about) -%}
    {{- return(('tailor_' ~ local_md5(relation.identifier ~ ' ' ~ definition)[:8] ~ '_' ~ about)[:63]) -}}
{%- endmacro %}


{#- Puts the rules on a freshly built state table: one ALTER TABLE for the
    checks (one scan), then a partial unique index per key. An index name
    is the schema's, and the state table being replaced still has its
    indexes: the new ones are named for the new table until the old one is
    dropped (cdc_name_state_indexes), so the old state stays readable (no
    lock on it) while they are built. -#}
{% macro cdc_add_state_rules(rules, relation) %}
    {%- set checks = [] -%}
    {%- for rule in rules if rule.test != 'repeat' -%}
        {%- do checks.append('add constraint ' ~ rule.name ~ ' ' ~ rule.definition) -%}
    {%- endfor -%}
    {%- if checks -%}
        {%- call statement('constraints') -%}
            alter table {{ relation }}
                {{ checks | join(',\n                ') }}
        {%- endcall -%}
    {%- endif -%}
    {%- for rule in rules if rule.test == 'repeat' -%}
        {%- call statement('unique_index') -%}
            create unique index {{ cdc_rule_name(relation, rule.definition, rule.about) }}
            on {{ relation }} {{ rule.definition }}
        {%- endcall -%}
    {%- endfor -%}
{% endmacro %}


{% macro cdc_name_state_indexes(rules, built_as, state) %}
    {%- for rule in rules if rule.test == 'repeat' -%}
        {%- call statement('unique_index_name') -%}
            alter index {{ adapter.quote(state.schema) }}.{{ cdc_rule_name(built_as, rule.definition, rule.about) }}
            rename to {{ rule.name }}
        {%- endcall -%}
    {%- endfor -%}
{% endmacro %}


{#- How many rows of `rows_sql` (about to be inserted into the state) break
    each rule, one column per rule (cdc_raise_if_rules_broken reads them). A
    key repeats when it does among those rows, or matches a live row the
    state keeps. -#}
{% macro cdc_rule_counts_sql(rules, rows_sql, state) %}
    {%- set counts -%}
        select
        {%- for rule in rules %}
            {%- if rule.test == 'repeat' %}
            {%- set complete = tailor_key_complete(rule.columns) %}
            count(*) filter (where {{ complete }})
                - count(distinct ({{ rule.columns | join(', ') }})) filter (where {{ complete }})
                + count(*) filter (where {{ complete }} and exists (
                    select 1 from {{ state }} as kept
                    where kept._op in ('c', 'u', 'r')
                    {%- for column in rule.columns %}
                        and kept.{{ column }} = changed.{{ column }}
                    {%- endfor %}
                ))
            {%- else %}
            count(*) filter (where {{ rule.broken }})
            {%- endif %} as rule_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from ({{ rows_sql }}) as changed
    {%- endset -%}
    {{ return(counts) }}
{% endmacro %}


{#- Fails the run, naming each rule the rows break and how many rows break
    it (`found`: the counts' row), before Postgres would print such a row in
    a constraint error. -#}
{% macro cdc_raise_if_rules_broken(rules, found, landed_range) %}
    {%- set broken = [] -%}
    {%- for rule in rules -%}
        {%- if found[loop.index0] > 0 -%}
            {%- do broken.append(rule.label ~ ' (' ~ rule.name ~ '): ' ~ found[loop.index0] ~ ' row(s)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if broken -%}
        {{ exceptions.raise_database_error(
            this ~ ": the changes landed since the last build break the constraints its YAML declares, so "
            ~ "its state table keeps its previous rows. " ~ broken | join('; ') ~ ". The changes are those "
            ~ "in " ~ source('shop', 'cdc_events') ~ " with " ~ landed_range ~ "; fix the rows in the shop "
            ~ "(the capture lands the fix) or the rule in the YAML, then build again.") }}
    {%- endif -%}
{% endmacro %}


{#- For constraints_hold: the watermark through which the model's state
    table enforces its rules (so only the view's rows landed after it need
    checking), or none (no state table, or one without the YAML's
    constraints yet, or without a watermark: the test checks the whole
    view). One query: the test compiles once per build and view. -#}
{% macro cdc_enforced_through(node, relation) %}
    {%- set state = cdc_state_relation(relation) -%}
    {{ return(cdc_scalar(
        "select case when " ~ cdc_state_rules_in_place_sql(state, cdc_state_rules(node, state))
        ~ " then substring(obj_description(to_regclass('" ~ state ~ "'), 'pg_class') "
        ~ "from 'cdc_applied_through=([0-9]+)')::bigint end")) }}
{% endmacro %}


{#- The model's configured indexes that the state table lacks, created.
    dbt creates a model's indexes with its table only, so an index added to
    the config later (a new lookup path) would otherwise wait for the next
    full refresh, and the lookup written for it would scan the state
    meanwhile. An index counts as present when one with the same columns,
    in order, and the same uniqueness exists (no predicate, no expression);
    `present` is the probe's list of them. -#}
{% macro cdc_add_missing_indexes(state, present) %}
    {%- set configured = config.get('indexes', default=[]) -%}
    {%- for index in configured -%}
        {%- set key = ('unique:' if index.get('unique') else 'plain:') ~ (index['columns'] | join(',')) -%}
        {%- if key not in present -%}
            {{ log(this ~ ": creating the configured index on " ~ (index['columns'] | join(', ')) ~ " the state table lacks", info=True) }}
            {%- call statement('index') -%}{{ get_create_index_sql(state, index) }}{%- endcall -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}


{% materialization cdc_incremental, adapter='postgres' %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set state = cdc_state_relation(this) -%}
    {%- set new_state = make_intermediate_relation(state) -%}
    {%- set old_state = make_backup_relation(state, 'table') -%}
    {%- set batch = make_temp_relation(state, '__cdc_batch') -%}
    {%- set existing = load_cached_relation(this) -%}

    {{ drop_relation_if_exists(load_cached_relation(new_state)) }}
    {{ drop_relation_if_exists(load_cached_relation(old_state)) }}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set rules = cdc_state_rules(model, state) -%}
    {%- set probe = cdc_probe(state, rules, target_relation) -%}
    {%- set state_exists = probe.state_exists -%}
    {%- set log_high = probe.log_high -%}
    {%- set rebuild = should_full_refresh() or not state_exists -%}
    {%- set applied = 0 if rebuild else (probe.applied if probe.applied is not none else cdc_applied_through(state)) -%}
    {%- if applied > log_high -%}
        {{ log(this ~ ": the change log is behind the state (reloaded?), rebuilding the state from it", info=True) }}
        {%- set rebuild = true -%}
    {%- endif -%}
    {%- if not rebuild and not probe.rules_in_place -%}
        {{ log(this ~ ": the state table's constraints are not those the YAML declares (built before they "
            ~ "were enforced, or a rule changed), rebuilding the state from the whole change log", info=True) }}
        {%- set rebuild = true -%}
    {%- endif -%}
    {%- if not rebuild -%}
        {%- call statement('batch', fetch_result=True) -%}
            create temporary table {{ batch }} as (
                {{ cdc_with_watermark(sql, applied, log_high) }}
            );
            select {{ cdc_column_list_sql(batch) }}
        {%- endcall -%}
        {%- set columns = cdc_column_list(load_result('batch').table.rows[0][0]) -%}
        {%- if columns != probe.state_columns -%}
            {{ log(this ~ ": columns changed, rebuilding the state from the whole change log", info=True) }}
            {%- set rebuild = true -%}
        {%- endif -%}
    {%- endif -%}

    {%- if rebuild -%}
        {%- call statement('main') -%}
            {{ get_create_table_as_sql(False, new_state, cdc_with_watermark(sql, 0, log_high)) }}
        {%- endcall -%}
        {%- do cdc_add_state_rules(rules, new_state) -%}
        {%- for index in config.get('indexes', default=[]) -%}
            {%- call statement('index') -%}{{ get_create_index_sql(new_state, index) }}{%- endcall -%}
        {%- endfor -%}
        {%- call statement('analyze') -%}analyze {{ new_state }}{%- endcall -%}
        {%- if state_exists -%}
            {{ adapter.rename_relation(state, old_state) }}
        {%- endif -%}
        {{ adapter.rename_relation(new_state, state) }}
        {%- set columns = cdc_column_names(state) -%}
    {%- else -%}
        {%- set column_list = columns | join(', ') -%}
        {#- rows left for a key are later than the batch's: the batch's is ignored -#}
        {%- set inserted -%}
            select {{ column_list }}
            from {{ batch }} as batch
            where not exists (select 1 from {{ state }} as state where state._pk = batch._pk)
        {%- endset -%}
        {%- set live_inserted -%}
            {{ inserted }}
                and batch._op in ('c', 'u', 'r')
        {%- endset -%}
        {#- the deletes and, on what they leave, the rules' counts: one round trip -#}
        {%- call statement('apply', fetch_result=True) -%}
            -- a truncate erases every row landed before it (tombstones included)
            delete from {{ state }}
            where _landing_id < (select max(_landing_id) from {{ batch }} where _op = 't');

            -- a later change of a key replaces its row
            delete from {{ state }} as state
            using {{ batch }} as batch
            where batch._pk = state._pk
                and (batch._source_lsn, batch._landing_id) > (state._source_lsn, state._landing_id);

            {% if rules -%}
            {{ cdc_rule_counts_sql(rules, live_inserted, state) }}
            {%- else -%}
            select
            {%- endif %}
        {%- endcall -%}
        {%- if rules -%}
            {%- do cdc_raise_if_rules_broken(rules, load_result('apply').table.rows[0],
                'landing_id > ' ~ applied ~ ' and landing_id <= ' ~ log_high) -%}
        {%- endif -%}
        {%- call statement('main') -%}
            insert into {{ state }} ({{ column_list }})
            {{ inserted }}
        {%- endcall -%}
        {%- do cdc_add_missing_indexes(state, probe.indexes) -%}
    {%- endif -%}

    {#- The view: state rows no later change supersedes, plus the later changes themselves. -#}
    {%- set watermark = log_high -%}
    {%- set view_columns = [] -%}
    {%- for column in columns -%}
        {%- do view_columns.append(column) -%}
    {%- endfor -%}
    {%- set view_sql -%}
        with

        tail as materialized (

            {{ cdc_with_watermark(sql, watermark) }}

        ),

        truncated as (

            select exists (select 1 from tail where _op = 't') as since_watermark

        ),

        -- keys a later change in the tail replaces: a join the planner drives
        -- from the (small) tail, then a hashed NOT IN; as a NOT EXISTS on the
        -- state the planner hashed the whole state table instead
        superseded as (

            select state._pk
            from {{ state }} as state
            inner join tail
                on tail._pk = state._pk
            where (tail._source_lsn, tail._landing_id) > (state._source_lsn, state._landing_id)

        )

        select {{ view_columns | join(', ') }}
        from {{ state }} as state
        where state._op in ('c', 'u', 'r')
            and not (select since_watermark from truncated)
            -- no null in superseded (an equi-join's keys), so NOT IN is exact
            and state._pk not in (select superseded._pk from superseded)

        union all

        select {{ view_columns | join(', ') }}
        from tail
        where tail._op in ('c', 'u', 'r')
            and ((select since_watermark from truncated) or not exists (
                select 1 from {{ state }} as state
                where state._pk = tail._pk
                    and (state._source_lsn, state._landing_id) > (tail._source_lsn, tail._landing_id)
            ))
    {%- endset -%}
    {%- set replace_in_place = existing is not none and existing.is_view
        and probe.view_columns == view_columns -%}
    {%- if existing is not none and not replace_in_place -%}
        {#- other columns, or a table from an earlier materialization: dependants
            (views) go with it and are rebuilt later in the run -#}
        {{ drop_relation_if_exists(existing) }}
    {%- endif -%}
    {#- how far the state applied the log, and the view over it: one round trip -#}
    {%- call statement('view') -%}
        comment on table {{ state }} is 'cdc_applied_through={{ log_high | int }}';
        create or replace view {{ target_relation }} as (
            {{ view_sql }}
        )
    {%- endcall -%}
    {%- if state_exists and rebuild -%}
        {{ drop_relation_if_exists(old_state) }}
    {%- endif -%}
    {%- if rebuild -%}
        {%- do cdc_name_state_indexes(rules, new_state, state) -%}
    {%- endif -%}

    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {%- do adapter.commit() -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
