-- The change log's op codes, enforced by the table rather than by a dbt
-- test: a test scans the whole log on every build (2 M rows at 100k
-- customers, growing forever), a constraint checks each row once, when it
-- lands. The envelope parser quarantines anything else before landing
-- (tailor.cdc.envelope), so this only guards against a bug there.
alter table raw.cdc_events
    add constraint cdc_events_op_check check (op in ('c', 'u', 'd', 'r', 't'));
