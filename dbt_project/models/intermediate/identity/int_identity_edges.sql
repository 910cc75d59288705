-- The identity graph's edges: pairs of customer records that are one
-- person, because they share an identifier that passed the guardrails
-- (int_identifiers_normalized) or because the probabilistic matcher linked
-- them with a match probability at or above identity_match_threshold.
--
-- One row per pair and kind of evidence, the smaller customer_id on the
-- left. Links to customer records that no longer exist are dropped.
--
-- Incremental by comparison (incremental_strategy 'sync', macros/identity.sql):
-- every run selects the whole edge set, and only rows that differ from the
-- stored ones are written (new and changed edges inserted, edges that are
-- gone, e.g. a deleted record's, deleted); untouched edges stay as they
-- are. The select is cheap because only identifiers another record carries
-- too can pair records: the self-join reads the rows with
-- customers_sharing > 1 (a few percent of them). Driven by the data, not by
-- a change-log window: a record leaving an identifier shared by too many
-- turns the other, untouched records' rows into edges, and finding them
-- from the log would mean re-deriving the identifier it left (repeating
-- int_identifiers_normalized's rules on its previous values). And there
-- is no mark to get out of step with int_identifiers_normalized's:
-- a run after a skipped or failed one, a rebuilt identifiers table or a
-- changed identity var is caught up like any other. The matcher's links
-- (stg_ml__identity_links, rewritten outside dbt) are re-read whole.
{{
    config(
        materialized='incremental',
        incremental_strategy='sync',
        unique_key=['customer_id_l', 'customer_id_r', 'edge_type'],
        on_schema_change='fail'
    )
}}

with

-- an identifier carried by one record only pairs no one: left out before
-- the self-join (customers_sharing counts every record carrying it)
identifiers as (

    select customer_id, identifier_type, identifier
    from {{ ref('int_identifiers_normalized') }}
    where is_edge
        and customers_sharing > 1

),

customers as (

    select customer_id from {{ ref('stg_shop__customers') }}

),

links as (

    select * from {{ ref('stg_ml__identity_links') }}
    where match_probability >= {{ var('identity_match_threshold') }}

),

shared_identifiers as (

    select
        left_side.customer_id as customer_id_l,
        right_side.customer_id as customer_id_r,
        left_side.identifier_type as edge_type,
        min(left_side.identifier) as identifier,
        count(*) as shared_identifiers,
        null::double precision as match_probability,
        null::text as model_version
    from identifiers as left_side
    inner join identifiers as right_side
        on left_side.identifier_type = right_side.identifier_type
        and left_side.identifier = right_side.identifier
        and left_side.customer_id < right_side.customer_id
    group by 1, 2, 3

),

probabilistic as (

    select
        links.customer_id_l,
        links.customer_id_r,
        'probabilistic' as edge_type,
        null::text as identifier,
        0::bigint as shared_identifiers,
        links.match_probability,
        links.model_version
    from links
    inner join customers as left_customer
        on links.customer_id_l = left_customer.customer_id
    inner join customers as right_customer
        on links.customer_id_r = right_customer.customer_id

),

final as (

    select * from shared_identifiers
    union all
    select * from probabilistic

)

select * from final
