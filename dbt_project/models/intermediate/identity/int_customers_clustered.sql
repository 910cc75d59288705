-- Connected components of the identity graph: every customer record with
-- the cluster it falls in, keyed by the cluster's smallest customer_id.
--
-- A recursive CTE walks the (undirected) edges from each record that has
-- one and keeps every record it reaches (UNION drops repeats, so it ends);
-- the cluster key is the smallest record reached. The work grows with the
-- square of cluster size, which the guardrails keep small; cluster_size is
-- tested for runaway clusters. Records without edges (most of them) are
-- clusters of one without a walk: from them it would reach only
-- themselves.
with recursive

customers as (

    select customer_id from {{ ref('stg_shop__customers') }}

),

edges as (

    select distinct customer_id_l, customer_id_r from {{ ref('int_identity_edges') }}

),

undirected as (

    select customer_id_l as from_customer_id, customer_id_r as to_customer_id from edges
    union
    select customer_id_r as from_customer_id, customer_id_l as to_customer_id from edges

),

linked_customers as (

    select customer_id from customers
    where customer_id in (select from_customer_id from undirected)

),

reachable (customer_id, reached_customer_id) as (

    select customer_id, customer_id from linked_customers

    union

    select
        reachable.customer_id,
        undirected.to_customer_id
    from reachable
    inner join undirected
        on reachable.reached_customer_id = undirected.from_customer_id

),

linked_clusters as (

    select
        customer_id,
        min(reached_customer_id) as cluster_key,
        count(*) as cluster_size
    from reachable
    group by customer_id

),

unlinked_clusters as (

    select
        customer_id,
        customer_id as cluster_key,
        1::bigint as cluster_size
    from customers
    where customer_id not in (select customer_id from linked_customers)

),

clustered as (

    select * from linked_clusters
    union all
    select * from unlinked_clusters

)

select * from clustered
