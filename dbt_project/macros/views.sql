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
{% materialization view, adapter='postgres' %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
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
            )
        {%- endcall -%}
    {%- else -%}
        {%- if existing_relation is not none -%}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {%- endif -%}
        {{ adapter.rename_relation(intermediate_relation, target_relation) }}
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
