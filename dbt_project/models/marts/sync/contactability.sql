-- May we email this person right now? A view over the staging views (which
-- are views over raw), so an exporter re-checking at send time sees consent
-- decisions and suppressions captured after the marts were built. The rules
-- (can_email, reason, the consent in force) are macros/contactability.sql's,
-- which the build's own copy of this view, contactability_at_build, applies
-- too.
--
-- Persons come from int_customers_identified: the person map, and for a
-- customer who signed up after the last build the person holding its email
-- key, else its own new id.
{{ config(materialized='view') }}

{{ contactability_rows(ref('int_customers_identified')) }}
