-- Exponential time decay: the weight of something that happened at
-- `occurred_at`, seen from `as_of`. 1 at as_of, 0.5 one half-life earlier,
-- 0.25 two half-lives earlier, and so on:
--
--     weight = 0.5 ^ (age_in_days / half_life_days) = exp(-ln 2 * age / half_life)
--
-- Float arithmetic on purpose (date_part returns double precision, extract
-- returns numeric): it runs once per event on the big event tables.
-- Callers filter out events after as_of, so the age is never negative.
{% macro time_decay(occurred_at, as_of, half_life_days) -%}
    exp(-ln(2) * date_part('epoch', {{ as_of }} - {{ occurred_at }}) / 86400 / {{ half_life_days }})
{%- endmacro %}
