-- The persistent person map: every customer record with its person_id,
-- stable across runs while clusters grow, merge and split.
--
-- Incremental on purpose and never fully refreshed (full_refresh=false):
-- the previous map (this model's own table) is what keeps ids stable.
-- On each run, per cluster of int_customers_clustered:
--   * a previous person_id belongs to the cluster holding its oldest
--     (smallest customer_id) member, so on a split that part keeps it;
--   * a cluster holding several ids keeps the oldest (first issued, then
--     smallest oldest member); the others are retired (merge, see
--     int_person_merges);
--   * a cluster holding none (new records, split-off parts) gets
--     'p_<smallest customer_id>' (new_person_id), so a rebuild from scratch
--     issues the same ids.
-- Rows of deleted customer records are removed after each run (post-hook).
--
-- A run maps only what can have changed. A cluster whose records all have
-- a row of the last run with this cluster's key and size ("settled") is
-- exactly a cluster of that run (the run gave the key to that many
-- records, and they are all here): it keeps its one id, which no other
-- cluster holds (tests/assert_person_id_one_cluster.sql), and its rows as
-- they are, whatever happens elsewhere. The rules above run on the other
-- clusters only ("open": with a new record, or grown, shrunk, merged or
-- split), the settled ones' ids counting as held, and only the rows that
-- differ from the stored ones are selected (delete+insert by customer_id),
-- so untouched rows are not rewritten. With no previous map (the first
-- build) every cluster is open: the same rules, on everything.
-- Its rules are the contract's constraints (the intermediate default):
-- Postgres checks each run's batch before it is inserted, and the table
-- (created once and kept) carries them too, added by the warehouse
-- migration V090 to a map built before they were declared.
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        full_refresh=false,
        on_schema_change='fail',
        post_hook="delete from {{ this }} where customer_id not in (select customer_id from {{ ref('int_customers_clustered') }})"
    )
}}

with

clusters as (

    select * from {{ ref('int_customers_clustered') }}

),

-- every current record with its cluster now and its row of the last run
-- (null columns for a record the map does not have yet)
previous as (

    select
        clusters.customer_id,
        clusters.cluster_key,
        clusters.cluster_size,
        {%- if is_incremental() %}
        this_map.person_id,
        this_map.person_issued_at,
        this_map.previous_person_id,
        this_map.change,
        this_map.changed_at,
        this_map.cluster_key as mapped_cluster_key,
        this_map.cluster_size as mapped_cluster_size
    from clusters
    left join {{ this }} as this_map
        on clusters.customer_id = this_map.customer_id
        {%- else %}
        null::text as person_id,
        null::timestamptz as person_issued_at,
        null::text as previous_person_id,
        null::text as change,
        null::timestamptz as changed_at,
        null::bigint as mapped_cluster_key,
        null::bigint as mapped_cluster_size
    from clusters
        {%- endif %}

),

-- the clusters this run maps: those with a record that is new or not where
-- the last run saw it (another cluster key or size); the others are
-- settled (see header)
open_keys as (

    select distinct cluster_key
    from previous
    where person_id is null
        or mapped_cluster_key <> cluster_key
        or mapped_cluster_size <> cluster_size

),

open_previous as (

    select * from previous
    where cluster_key in (select cluster_key from open_keys)

),

-- each previous id goes to the cluster holding its oldest member (an open
-- cluster's ids are held in open clusters only)
id_keepers as (

    select distinct on (person_id)
        person_id,
        person_issued_at,
        customer_id as oldest_member,
        cluster_key
    from open_previous
    where person_id is not null
    order by person_id, customer_id

),

-- a cluster entitled to several ids keeps the oldest
survivors as (

    select distinct on (cluster_key)
        cluster_key,
        person_id,
        person_issued_at
    from id_keepers
    order by cluster_key, person_issued_at, oldest_member

),

-- a cluster holding none gets 'p_<cluster_key>', unless another cluster
-- still holds that id (an open one as its survivor, a settled one as its
-- id): then the run's as_of is appended
new_ids as (

    select
        open_keys.cluster_key,
        {{ new_person_id('open_keys.cluster_key') }} as person_id
    from open_keys
    where open_keys.cluster_key not in (select cluster_key from survivors)

),

held_new_ids as (

    select new_ids.person_id
    from new_ids
    inner join survivors
        on new_ids.person_id = survivors.person_id

    union

    select new_ids.person_id
    from new_ids
    inner join previous
        on new_ids.person_id = previous.person_id
    where previous.cluster_key not in (select cluster_key from open_keys)

),

cluster_ids as (

    select
        open_keys.cluster_key,
        coalesce(
            survivors.person_id,
            case
                -- never re-issue an id another cluster still holds
                when new_ids.person_id in (select person_id from held_new_ids)
                    then new_ids.person_id || '_' || extract(epoch from {{ as_of() }})::bigint::text
                else new_ids.person_id
            end
        ) as person_id,
        coalesce(survivors.person_issued_at, {{ as_of() }}) as person_issued_at
    from open_keys
    left join survivors
        on open_keys.cluster_key = survivors.cluster_key
    left join new_ids
        on open_keys.cluster_key = new_ids.cluster_key

),

-- the last change of each record's id; a record whose id this run kept
-- carries its earlier change forward, so the history (int_person_merges)
-- still finds it even if that model did not run in between (materialized:
-- inlined, each use of a column below would re-evaluate the id lookups)
mapped as materialized (

    select
        previous.customer_id,
        cluster_ids.person_id,
        previous.cluster_key,
        previous.cluster_size,
        cluster_ids.person_issued_at,
        case
            when previous.person_id = cluster_ids.person_id then previous.previous_person_id
            else previous.person_id
        end as previous_person_id,
        case
            when previous.person_id is null then 'new'
            when previous.person_id = cluster_ids.person_id then previous.change
            when previous.person_id in (select person_id from survivors) then 'split'
            else 'merged'
        end as change,
        case
            when previous.person_id = cluster_ids.person_id then previous.changed_at
            else {{ as_of() }}
        end as changed_at
    from open_previous as previous
    inner join cluster_ids
        on previous.cluster_key = cluster_ids.cluster_key

),

-- only rows that differ from the stored ones are written
changed as (

    select mapped.*
    from mapped
    inner join open_previous as previous
        on mapped.customer_id = previous.customer_id
    where (
        mapped.person_id, mapped.cluster_key, mapped.cluster_size, mapped.person_issued_at,
        mapped.previous_person_id, mapped.change, mapped.changed_at
    ) is distinct from (
        previous.person_id, previous.mapped_cluster_key, previous.mapped_cluster_size, previous.person_issued_at,
        previous.previous_person_id, previous.change, previous.changed_at
    )

)

select * from changed
