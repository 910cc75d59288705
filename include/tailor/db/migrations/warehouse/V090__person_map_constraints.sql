-- The person map and its merge history are dbt models that are created once
-- and never rebuilt (int_person_map, int_person_merges: stable person ids).
-- Their rules became contract constraints (models/intermediate/identity/
-- _identity__models.yml) instead of data tests that re-read both tables on
-- every build; dbt puts them on a table it creates and on every run's
-- batch, but never on a table that already exists. This adds them to a
-- warehouse built before, once (the same constraints as the YAML; a
-- violation stops the migration and names the constraint). A warehouse
-- with no such tables yet gets them from dbt's first build.
do $$
begin
    if to_regclass('intermediate.int_person_map') is not null and not exists (
        select 1 from pg_constraint
        where conrelid = to_regclass('intermediate.int_person_map') and contype = 'p'
    ) then
        alter table intermediate.int_person_map
            alter column person_id set not null,
            alter column cluster_key set not null,
            alter column cluster_size set not null,
            alter column person_issued_at set not null,
            alter column change set not null,
            alter column changed_at set not null,
            add primary key (customer_id),
            add check (change in ('new', 'merged', 'split')),
            add check ((change = 'new') = (previous_person_id is null));
    end if;

    if to_regclass('intermediate.int_person_merges') is not null and not exists (
        select 1 from pg_constraint
        where conrelid = to_regclass('intermediate.int_person_merges') and contype = 'u'
    ) then
        alter table intermediate.int_person_merges
            alter column from_person_id set not null,
            alter column to_person_id set not null,
            alter column change_type set not null,
            alter column customer_count set not null,
            alter column example_customer_id set not null,
            alter column recorded_at set not null,
            add check (change_type in ('merge', 'split')),
            add check (customer_count >= 1),
            add unique (from_person_id, to_person_id, change_type, recorded_at),
            add check (from_person_id <> to_person_id);
    end if;
end
$$;
