-- Pieces of the profile (int_persons_profiled) its pre-hook compares too:
-- values computed over everyone, which int_persons_changed cannot trace to
-- the persons they moved for; and the rules the profile shares with the
-- segments.


-- RFM scores: quintiles among people who bought (5 = best); ties broken by
-- the next measure, then person_id, so a re-run scores identically. Over
-- every buyer: one new order moves the quintile edges for others.
{% macro profile_rfm_scores(orders) -%}
    (
        select
            person_id,
            ntile(5) over (order by recency_days desc, frequency asc, person_id) as r_score,
            ntile(5) over (order by frequency asc, monetary asc, person_id) as f_score,
            ntile(5) over (order by monetary asc, frequency asc, person_id) as m_score
        from {{ orders }}
    )
{%- endmacro %}


-- An abandoned cart (the profile's open cart, seg_cart_abandoners): items
-- left in it within cart_abandonment_days of `as_of`, no order since.
-- `carts`: an alias of int_carts_attributed's rows.
{% macro is_abandoned_cart(carts, as_of_expression) -%}
    ({{ carts }}.is_unconverted
        and {{ carts }}.item_count > 0
        and not {{ carts }}.has_ordered_since
        and {{ carts }}.updated_at > {{ as_of_expression }} - interval '{{ var("cart_abandonment_days") }} days')
{%- endmacro %}


-- The latest abandoned cart per person. Carts leave the window as as_of
-- moves, with no change.
{% macro profile_open_carts(carts, as_of_expression) -%}
    (
        select distinct on (carts.person_id)
            carts.person_id,
            carts.cart_value as open_cart_value,
            carts.updated_at as open_cart_updated_at
        from {{ carts }} as carts
        where {{ is_abandoned_cart('carts', as_of_expression) }}
        order by carts.person_id, carts.updated_at desc, carts.cart_id desc
    )
{%- endmacro %}


-- The as_of an incremental person model's rows describe, from its table
-- comment (persons_increment_close): what a view over it computes as-of
-- values with, so they match the rows whenever it is read. Resolved by name
-- when read (to_regclass), so a rebuilt table is found again.
{% macro built_as_of(relation) -%}
    substring(
        obj_description(to_regclass('{{ relation.include(database=false) }}'), 'pg_class')
        from 'as_of=([^ ]+)'
    )::timestamptz
{%- endmacro %}
