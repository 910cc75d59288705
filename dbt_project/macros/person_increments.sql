-- Person-grain feature models built incrementally: each run recomputes only
-- the persons whose features may have moved since that model's last run.
--
-- Two sources of "moved":
--   * the data: int_persons_changed marks every person whose inputs changed
--     (records, attributed orders, events, stitching) with the change-log
--     position of the run that saw it (changed_through);
--   * the clock: as_of moves between runs, so an event crosses the edge of
--     a window (30 days, 90 days, "up to as_of") without changing at all.
--     A model names its windows and the event times they read; the persons
--     with an event between the edges of the previous and the new as_of are
--     recomputed too (either direction: a backfill moves as_of back).
-- Time-decayed sums do not move with as_of: they are kept decayed to a fixed
-- decay epoch (decay_epoch(), the start of as_of's UTC year) and scaled to
-- as_of when read (decay_to_as_of()). A new epoch (once a year) recomputes
-- every person, as does a change of the model's SQL or vars (a fingerprint
-- of both is kept with the table), a missing mark or a full refresh.
--
-- The model's comment keeps `persons_through=N` (int_persons_changed's mark
-- when the run started), `as_of=<iso timestamp>`, `epoch=<iso timestamp>`
-- and `config=<md5>`. Its pre-hook (persons_increment_begin) creates the
-- temp table `persons_to_rebuild` (person_id; dropped at commit) and deletes
-- those persons' rows; the model selects only them (persons_increment_filter)
-- and the post-hook (persons_increment_close) records the new marks.


-- The decay epoch of the run: decayed sums are kept as of this instant.
{% macro decay_epoch() -%}
    date_trunc('year', {{ as_of() }}, 'UTC')
{%- endmacro %}


-- The weight of something at `occurred_at` seen from the decay epoch:
-- 0.5 ^ ((occurred_at - epoch) / half-life), above 1 for events after the
-- epoch; null for a null time. As numeric: a sum of numerics is exact, so it
-- does not depend on the order rows reach it, and a person recomputed alone
-- gets bit for bit the sum a rebuild of everyone gets (float sums differ in
-- their last digit with the plan). Exponents are clamped at -700: exp()
-- below that underflows (an error in PostgreSQL) and the weight is 0 in
-- every practical sense.
{% macro decay_at_epoch(occurred_at, half_life_days, epoch=none) -%}
    (case when {{ occurred_at }} is not null then exp(greatest(-700,
        ln(2) * date_part('epoch', {{ occurred_at }} - {{ epoch or decay_epoch() }}) / 86400 / {{ half_life_days }}
    ))::numeric end)
{%- endmacro %}


-- What turns a sum kept at the decay epoch into one seen from as_of.
{% macro decay_to_as_of(as_of_expression, epoch_expression, half_life_days) -%}
    exp(greatest(-700, -ln(2) * date_part('epoch', {{ as_of_expression }} - {{ epoch_expression }}) / 86400 / {{ half_life_days }}))
{%- endmacro %}


-- Pre-hook. `sources`: the event times the model's windows read, as
-- [model name, time column] pairs (the model has customer_id), or
-- [model name, time column, 'person_id'] for a model keyed by person; `windows`:
-- the window lengths in days, 0 standing for the "up to as_of" edge itself;
-- `settings`: anything else the rows depend on (vars), for the fingerprint;
-- `copied`: [model name, column, column...] lists of person-grain inputs
-- the model keeps a copy of (values another model computes, for persons
-- this one cannot tell it changed): persons whose copy of any of those
-- columns differs are recomputed too (one join per model);
-- `logged`: for a model keyed by a shop table's key that int_persons_changed
-- does not follow, [[log tables], key column (bigint), model with the key and
-- customer_id]: the persons owning a key the change log has (any of the
-- log tables, by their primary-key image) since the model's last mark, both
-- the current owner (through that model) and the one the model's table has
-- (the key deleted, or moved to another person); everyone after a truncate
-- of one of the log tables (its log row has no key);
-- `compared`: for inputs that change without int_persons_changed seeing it
-- (tables rebuilt whole every run, values computed over everyone),
-- [input, [[stored column, expression over `inputs`], ...]] pairs, `input`
-- a relation (ref) or a parenthesised select, both with person_id: the
-- persons whose stored columns differ from what the expressions give now,
-- a person the input has no row for comparing as nulls in `inputs` (so an
-- expression that coalesces a missing row to a default matches the
-- default stored). All compared inputs are joined to the stored rows in one
-- pass (`inputs.` in an expression becomes that input's alias). A person
-- the table lacks is new or entered as_of's population: data changes and
-- `sources` bring them;
-- `also`: selects of person_id for what none of the above can say (they
-- may read {{ this }} and the window, `persons_increment`: since/upto).
{% macro persons_increment_begin(sources, windows, settings=[], copied=[], logged=none, compared=[], also=[]) -%}
    {#- not `compared`: it is checked value by value on every run (and its
        inputs' SQL may hold as_of) -#}
    {#- not `also` either: its selects are the model's code as written (in
        raw_code); rendered, they hold the database's name -#}
    {%- set fingerprint = local_md5(model.raw_code ~ tojson([sources, windows, settings, copied, logged])) -%}
    drop table if exists pg_temp.persons_increment;
    create temp table persons_increment on commit drop as
    with changed as (
        select substring(obj_description('{{ ref('int_persons_changed') }}'::regclass, 'pg_class')
            from 'applied_through=([0-9]+)')::bigint as upto
    ),
    previous as (
        {%- if is_incremental() %}
        select obj_description('{{ this }}'::regclass, 'pg_class') as comment
        {%- else %}
        select null::text as comment
        {%- endif %}
    ),
    marks as (
        select
            substring(comment from 'persons_through=([0-9]+)')::bigint as persons_through,
            substring(comment from 'as_of=([^ ]+)')::timestamptz as previous_as_of,
            substring(comment from 'epoch=([^ ]+)')::timestamptz as previous_epoch,
            substring(comment from 'config=([0-9a-f]+)') as previous_config
        from previous
    )
    select
        case
            when previous_config = '{{ fingerprint }}'
                and previous_epoch = {{ decay_epoch() }}
                and persons_through <= (select upto from changed)
                then persons_through
        end as since,
        (select upto from changed) as upto,
        least(previous_as_of, {{ as_of() }}) as low_as_of,
        greatest(previous_as_of, {{ as_of() }}) as high_as_of,
        {{ as_of() }} as as_of,
        {{ decay_epoch() }} as epoch,
        '{{ fingerprint }}'::text as fingerprint
    from marks;
    analyze persons_increment;

    -- everyone when there is no usable mark, so the model filters on one
    -- analysed list either way (its size is what plans the model's joins);
    -- the window edges are scalar subqueries, so the event tables' time
    -- indexes serve each range. One bound for the marks (-1 without a
    -- usable mark: every position is above it), so changed_through's index
    -- serves the range; `> since or since is null` read the whole table.
    -- The customers whose events cross a window edge are looked up by key
    -- (`= any(array(...))`, the primary key's index): joined, the planner
    -- hashed every customer record for the few events a window holds.
    {%- if is_incremental() and compared %}
    -- The `compared` join reads every stored row and keeps the few that
    -- differ, but the planner cannot know they match: it costs moving all
    -- of them out of parallel workers and keeps the join (one hash join per
    -- input, over everyone) on one core, 0.5 s at 100k customers, where it
    -- runs at the end of the build with the other core idle. Free transfer
    -- for this statement only (back to default after it): a parallel join, ~20% less.
    set local parallel_setup_cost = 0;
    set local parallel_tuple_cost = 0;
    {%- endif %}
    drop table if exists pg_temp.persons_to_rebuild;
    create temp table persons_to_rebuild on commit drop as
    select person_id from {{ ref('int_persons_changed') }}
    where is_current
        and changed_through > coalesce((select since from persons_increment), -1)
    {%- for source in sources %}
    {%- set in_window -%}
        (
        {%- for days in windows %}
        (events.{{ source[1] }} > (select low_as_of from persons_increment) - interval '{{ days }} days'
            and events.{{ source[1] }} <= (select high_as_of from persons_increment) - interval '{{ days }} days'){{ " or" if not loop.last }}
        {%- endfor %}
        )
    {%- endset %}
    union
    {%- if source[2] | default('customer_id') == 'person_id' %}
    select events.person_id
    from {{ ref(source[0]) }} as events
    where {{ in_window }}
    {%- else %}
    select resolved.person_id
    from {{ ref('int_customers_resolved') }} as resolved
    where resolved.customer_id = any(array(
        select events.customer_id
        from {{ ref(source[0]) }} as events
        where {{ in_window }}
    ))
    {%- endif %}
    {%- endfor %}
    {%- if is_incremental() %}
    {%- for input in copied %}
    union
    select inputs.person_id
    from {{ ref(input[0]) }} as inputs
    inner join {{ this }} as stored
        on inputs.person_id = stored.person_id
    where
        {%- for column in input[1:] %}
        inputs.{{ column }} is distinct from stored.{{ column }}{{ " or" if not loop.last }}
        {%- endfor %}
    {%- endfor %}
    {%- endif %}
    {%- if logged %}
    {%- set logged_keys -%}
        select (events.pk ->> '{{ logged[1] }}')::bigint
        from {{ increment_events(logged[0], 'persons_increment') }} as events
    {%- endset %}
    union
    select resolved.person_id
    from {{ ref(logged[2]) }} as current_rows
    inner join {{ ref('int_customers_resolved') }} as resolved
        on current_rows.customer_id = resolved.customer_id
    where current_rows.{{ logged[1] }} = any(array({{ logged_keys }}))
    {%- if is_incremental() %}
    union
    select stored.person_id
    from {{ this }} as stored
    where stored.{{ logged[1] }} = any(array({{ logged_keys }}))
    {%- endif %}
    union
    select person_id from {{ ref('int_persons_changed') }}
    where is_current
        and exists (
            select 1
            from {{ increment_events(logged[0], 'persons_increment') }} as events
            where events.op = 't'
        )
    {%- endif %}
    {%- if is_incremental() and compared %}
    union
    select stored.person_id
    from {{ this }} as stored
    {%- for input in compared %}
    left join {{ input[0] }} as inputs_{{ loop.index }}
        on stored.person_id = inputs_{{ loop.index }}.person_id
    {%- endfor %}
    where (
        {%- for input in compared %}{% set outer = loop %}
        {%- for pair in input[1] %}
        stored.{{ pair[0] }}{{ "," if not (outer.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    ) is distinct from (
        {%- for input in compared %}{% set outer = loop %}
        {%- for pair in input[1] %}
        {{ pair[1] | replace('inputs.', 'inputs_' ~ outer.index ~ '.') }}{{ "," if not (outer.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    )
    {%- endif %}
    {%- if is_incremental() %}
    {%- for select in also %}
    union
    {{ select }}
    {%- endfor %}
    {%- endif %};
    {%- if is_incremental() and compared %}
    set local parallel_setup_cost to default;
    set local parallel_tuple_cost to default;
    {%- endif %}
    analyze persons_to_rebuild;

    {%- if is_incremental() %}
    delete from {{ this }}
    where person_id in (select person_id from persons_to_rebuild)
        -- persons the map no longer has (also when int_persons_changed was
        -- rebuilt alone and lost their marks)
        or person_id not in (
            select person_id from {{ ref('int_persons_changed') }} where is_current
        );
    {%- endif %}
{%- endmacro %}


-- In the model: restrict a CTE of customer records (with person_id) to the
-- persons being rebuilt: `where {{ persons_increment_filter('person_id') }}`.
{% macro persons_increment_filter(person_id) -%}
    {%- if is_incremental() -%}
    {{ person_id }} in (select person_id from persons_to_rebuild)
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


-- In the model: restrict a CTE of rows keyed by customer (events) to the
-- records of the persons being rebuilt, `records` being the model's CTE of
-- those records: `where {{ persons_increment_records('customer_id', 'customers') }}`.
-- Only for a CTE the model inner-joins with `records` anyway, so the rows
-- are the same: it lets the planner start from the thousand-odd records.
-- Without it, it hashed a whole event table to join them (all 362k
-- stitched web events at 100k customers: 0.35 s of the 0.8 s activity
-- took for 1,000 persons). As `= any(array(...))`, not `in (select ...)`:
-- the ids become one array, computed once, and the filter an index
-- condition on the event table's customer_id (through a staging view's
-- union too); as a semi-join the planner still hashed all 231k email
-- events (0.37 s against 27 ms for 1,100 customers). The event table needs
-- that index: without one, = any is a linear search per row.
{% macro persons_increment_records(customer_id, records) -%}
    {%- if is_incremental() -%}
    {{ customer_id }} = any(array(select {{ records }}.customer_id from {{ records }}))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


{% macro persons_increment_close() -%}
    do $$
    begin
        execute format(
            'comment on table %s is %L',
            '{{ this }}',
            (select 'persons_through=' || upto
                || ' as_of=' || to_char(as_of at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                || ' epoch=' || to_char(epoch at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                || ' config=' || fingerprint
             from persons_increment)
        );
    end
    $$;
{%- endmacro %}


-- ---- int_persons_changed's pre-hook ----------------------------------------

-- The change window (macros/increments.sql); every person is marked (since
-- := null) after the changes it cannot trace to persons (see the model's
-- header); the anonymous ids whose stitching may have moved
-- (macros/stitching.sql) or that a new anonymous event carries.
{% macro persons_changed_begin() -%}
    {{ increment_window(local_md5(model.raw_code)) }}
    {%- if is_incremental() %}
    update increment_window set since = null
    where exists (
        select 1
        from {{ increment_events([
            'customers', 'orders', 'order_items', 'web_events', 'email_events',
            'anonymous_ids', 'customer_devices', 'devices', 'products', 'categories']) }} as events
        where events.op = 't'
            or events.source_table in ('devices', 'products', 'categories')
            or (events.source_table in ('web_events', 'email_events') and events.op <> 'c')
            or (events.source_table = 'anonymous_ids' and events.op not in ('c', 'u'))
    );
    drop table if exists pg_temp.persons_changed_anonymous_ids;
    create temp table persons_changed_anonymous_ids on commit drop as
        {{ stitching_affected_anonymous_ids_sql() }}
        union
        -- and the anonymous ids of new anonymous events: whoever they are
        -- stitched to has a new event
        select nullif(events.after ->> 'anonymous_id', '')
        from {{ increment_events(['web_events']) }} as events
        where events.op = 'c'
            and nullif(events.after ->> 'anonymous_id', '') is not null;
    analyze persons_changed_anonymous_ids;
    {%- endif %}
{%- endmacro %}


-- Pre-hook, after persons_increment_begin: nested loops off for this
-- model's statements (set_config local: until dbt's transaction ends) when
-- more than `persons` persons are rebuilt. Over everyone, hash and merge
-- joins on person_id are always right and a misestimated nested loop is
-- quadratic; for the few persons of a routine run, index lookups are what
-- is fast.
{% macro persons_increment_nestloop_off(persons) -%}
    select set_config('enable_nestloop', 'off', true)
    where (select count(*) from persons_to_rebuild) > {{ persons }}
{%- endmacro %}


-- For a model's fingerprint (persons_increment_begin's settings): the SQL
-- of every model it reads, so a change to one of them (which that model,
-- incremental, applies to everyone) recomputes everyone here too.
{% macro parents_code_fingerprint() -%}
    {%- set code = [] -%}
    {%- for unique_id in model.depends_on.nodes | sort -%}
        {%- do code.append(unique_id ~ ':' ~ (graph.nodes.get(unique_id, {}).get('raw_code', ''))) -%}
    {%- endfor -%}
    {{- return(local_md5(code | join('\n'))) -}}
{%- endmacro %}


-- For a model's fingerprint (persons_increment_begin's settings): the
-- source of the macros (the macro objects, e.g. [contactability_rows]) that
-- compute its rows, so a change to one of them recomputes everyone.
{% macro macros_fingerprint(macros) -%}
    {%- set code = [] -%}
    {%- for macro in macros -%}
        {%- do code.append(macro.macro.macro_sql) -%}
    {%- endfor -%}
    {{- return(local_md5(code | join('\n'))) -}}
{%- endmacro %}


-- In the model: restrict a CTE over a table indexed on person_id (its
-- primary key, or the key's first column) to the persons being rebuilt, as
-- index lookups: `where {{ persons_increment_lookup('person_id') }}`. As
-- `= any(array(...))` for the reason persons_increment_records gives: the
-- ids are computed once and the planner counts them, where a semi-join per
-- input table misestimated the thousand-odd persons as a few dozen and
-- chose nested loops over the list for every row (1 s for 2,700 persons).
{% macro persons_increment_lookup(person_id) -%}
    {%- if is_incremental() -%}
    {{ person_id }} = any(array(select person_id from persons_to_rebuild))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}


-- In the model: restrict a table with no person_id index (customer records,
-- carts) to the persons being rebuilt, by joining the list (one hash join;
-- the list holds each person once, so no row is repeated):
-- `from {{ ref('x') }} as x {{ persons_increment_join('x.person_id') }}`.
{% macro persons_increment_join(person_id) -%}
    {%- if is_incremental() -%}
    inner join persons_to_rebuild on {{ person_id }} = persons_to_rebuild.person_id
    {%- endif -%}
{%- endmacro %}
