-- The view materialization, replacing a view in place.
--
-- dbt-postgres's own renames the old view away and drops it with CASCADE,
-- and every view built on it goes too until its own node runs later in the
-- build. For the send-time views that is a gap in every run:
-- marts.contactability (which exporters query right before sending) is
-- built on stg_exports__suppressions and int_customers_identified, and
-- was missing from the staging step until the end of the transform.
--
-- Here the new definition is created under a scratch name first. When its
-- columns (names, types, order) equal the existing view's, the view is
-- replaced in place with CREATE OR REPLACE VIEW: same relation, so the
-- views on it stay, and readers switch to the new definition at commit.
-- Otherwise (a column added, removed, renamed or retyped, or a table
-- standing where the view goes) it falls back to dbt's rename-and-drop:
-- the dependants are rebuilt later in the run, as before.
--
-- A view whose definition has not changed since it was created is left
-- alone: the view carries a fingerprint of its definition in its comment
-- (tailor_view_fingerprint: the compiled SQL, the contract's columns,
-- grants and this materialization's version), and when the view there has
-- the same, the build only reads that comment (pre- and post-hooks still
-- run). Every run used to re-create all eight
-- views (scratch view, contract check, two column reads, replace, commit:
-- 0.1-0.25 s of node time each under a build's load at 100k customers) and
-- took an exclusive lock on the send-time views for it. A view can only
-- lose its rows' meaning through its definition (Postgres refuses to drop
-- or retype a column a view reads, and a dropped upstream drops the view),
-- so an equal fingerprint is an equal view. --full-refresh re-creates
-- every view.
{% materialization view, adapter='postgres' %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set fingerprint = tailor_view_fingerprint(sql) -%}
    {%- set found = target_relation.include(database=false) -%}
    {%- call statement('main', fetch_result=True) -%}
        select obj_description(to_regclass('{{ found }}'), 'pg_class') = '{{ fingerprint }}'
            and (select relkind = 'v' from pg_class where oid = to_regclass('{{ found }}')) as unchanged
    {%- endcall -%}
    {%- if load_result('main')['data'][0][0] and not should_full_refresh() -%}
        {{ run_hooks(pre_hooks, inside_transaction=False) }}
        {{ run_hooks(pre_hooks, inside_transaction=True) }}
        {{ run_hooks(post_hooks, inside_transaction=True) }}
        {{ adapter.commit() }}
        {{ run_hooks(post_hooks, inside_transaction=False) }}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation_type = 'view' if existing_relation is none else existing_relation.type -%}
    {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        {{ get_create_view_as_sql(intermediate_relation, sql) }}
    {%- endcall %}

    {%- set replace_in_place = existing_relation is not none and existing_relation.is_view
        and tailor_view_signature(intermediate_relation) == tailor_view_signature(existing_relation) -%}
    {%- if replace_in_place -%}
        {%- call statement('replace') -%}
            drop view {{ intermediate_relation }};
            create or replace view {{ target_relation }} as (
                {{ sql }}
            );
            comment on view {{ target_relation }} is '{{ fingerprint }}'
        {%- endcall -%}
    {%- else -%}
        {%- if existing_relation is not none -%}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {%- endif -%}
        {{ adapter.rename_relation(intermediate_relation, target_relation) }}
        {%- call statement('fingerprint') -%}
            comment on view {{ target_relation }} is '{{ fingerprint }}'
        {%- endcall -%}
    {%- endif -%}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {%- if not replace_in_place -%}
        {{ drop_relation_if_exists(backup_relation) }}
    {%- endif -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


-- A view's columns as CREATE OR REPLACE VIEW compares them: name and type,
-- in order.
{% macro tailor_view_signature(relation) -%}
    {%- set signature = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do signature.append(column.name ~ ' ' ~ column.data_type) -%}
    {%- endfor -%}
    {{ return(signature) }}
{%- endmacro %}


-- What a view is made of: its compiled SQL, its contract (each column's name
-- and type, when enforced), its grants and the version of the
-- materialization above. Kept in the view's comment.
{% macro tailor_view_fingerprint(sql) -%}
    {%- set contract = [] -%}
    {%- if config.get('contract').enforced -%}
        {%- for column in model['columns'].values() -%}
            {%- do contract.append([column['name'], column['data_type']]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('tailor:view=' ~ local_md5(sql ~ tojson(contract) ~ tojson(config.get('grants')) ~ tailor_view_materialization_version())) }}
{%- endmacro %}


-- Bump it when the way views are built changes: every view is then
-- re-created once.
{% macro tailor_view_materialization_version() -%}
    2
{%- endmacro %}
