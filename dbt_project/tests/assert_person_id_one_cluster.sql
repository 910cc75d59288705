-- A person_id names exactly one cluster of the current map: two clusters
-- sharing an id would fuse two people in every downstream model.
select person_id, count(distinct cluster_key) as clusters
from {{ ref('int_person_map') }}
group by person_id
having count(distinct cluster_key) > 1
