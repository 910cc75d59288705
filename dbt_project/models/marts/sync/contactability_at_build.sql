-- contactability as this build saw it: the view read once per build, into a
-- table whose contract holds the view's rules (Postgres checks them on
-- these rows as the table is built), for the build's own readers: the
-- audience and the profiles' consent flag. The view stays what exporters
-- re-check right before sending; each read of it recomputes the person
-- records, consent decisions and suppressions of everyone (0.4 s at 100k
-- customers), and a build used to read it twice (its rules' test and the
-- audience) plus the consent view inside it twice more (the profiles, that
-- test's own).
select * from {{ ref('contactability') }}
