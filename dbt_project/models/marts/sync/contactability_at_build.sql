-- contactability as this build saw it, for the build's own readers (the
-- audience, the profiles' consent flag), in a table whose contract holds
-- the rules (Postgres checks them on these rows as they are written). The
-- view stays what exporters re-check right before sending.
--
-- Kept per person (macros/person_increments.sql) by the rules of
-- macros/contactability.sql, which the view applies too: a run recomputes
-- the persons int_persons_changed marked since the last one (their records
-- changed: joined, left, edited, new), and those whose row reads something
-- int_persons_changed does not follow:
--   * a consent decision logged since (its owner; everyone when a decision
--     was updated, deleted or re-read, as the log keeps only a deleted
--     row's key: a customer's erasure deletes theirs, so a run after one
--     recomputes everyone here, about a second at 100k customers);
--   * a suppression signal for the address the row has: a bounce,
--     unsubscribe or spam report from shop email_events logged since, any
--     of the collector's exports.suppressions (written straight into the
--     warehouse, no change log: a row can arrive with an older
--     suppressed_at, or be deleted), and every row suppressed now (its
--     signal may be gone).
-- Nothing here moves with as_of.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ persons_increment_begin([], [],
            [parents_code_fingerprint(), macros_fingerprint([contactability_rows])],
            also=[
                \"select resolved.person_id
                from \" ~ ref('stg_shop__consents') ~ \" as consents
                inner join \" ~ ref('int_customers_resolved') ~ \" as resolved
                    on consents.customer_id = resolved.customer_id
                where consents._landing_id > (select since from persons_increment)\",
                \"select person_id from \" ~ ref('int_persons_changed') ~ \"
                where is_current and exists (
                    select 1 from \" ~ increment_events(['consents'], 'persons_increment') ~ \" as events
                    where events.op <> 'c'
                )\",
                \"select stored.person_id
                from \" ~ this ~ \" as stored
                where starts_with(stored.reason, 'suppressed_')
                    or stored.email in (
                        select email_normalized from \" ~ ref('stg_shop__email_events') ~ \"
                        where is_suppression_signal
                            and _landing_id > (select since from persons_increment)
                        union all
                        select email_normalized from \" ~ ref('stg_exports__suppressions') ~ \"
                    )\"]) }}",
        post_hook="{{ persons_increment_close() }}"
    )
}}
-- depends_on: {{ ref('int_persons_changed') }}
-- depends_on: {{ ref('int_customers_resolved') }}

{#- The records of the persons recomputed. For the few of a routine run,
    looked up by customer_id (an index of the customers' staging state:
    their person_id is computed in the view, so a filter on it reads and
    resolves every record); for many, all records joined with the list (an
    array of every customer id is searched row by row: 14 s at 100k). Two
    branches, each behind a condition Postgres checks once before reading. -#}
{%- set records -%}
    {%- if is_incremental() %}
    (select records.*
    from {{ ref('int_customers_identified') }} as records
    where (select count(*) from persons_to_rebuild) <= 10000
        and records.customer_id = any(array(
            select resolved.customer_id
            from {{ ref('int_customers_resolved') }} as resolved
            {{ persons_increment_join('resolved.person_id') }}
        ))
    union all
    select records.*
    from {{ ref('int_customers_identified') }} as records
    {{ persons_increment_join('records.person_id') }}
    where (select count(*) from persons_to_rebuild) > 10000)
    {%- else %}
    {{ ref('int_customers_identified') }}
    {%- endif %}
{%- endset %}

{{ contactability_rows(records) }}
