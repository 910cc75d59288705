"""What `tailor identity show` prints: one person's cluster, edges, links and history.

Reads the dbt-built identity models (so it shows what the last build
decided), plus the send-time view for customers newer than that build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tailor.config import Settings
from tailor.db.connect import connect


@dataclass
class PersonCluster:
    """A person and everything that ties its customer records together."""

    person_id: str
    customers: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    identifiers: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


def _rows(conn, sql: str, params: tuple) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d.name for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_person(person_id: str | None = None, email: str | None = None,
                settings: Settings | None = None) -> PersonCluster:
    """The cluster of ``person_id``, or of the person holding ``email``.

    Raises LookupError when nobody matches, with what to try next.
    """
    import psycopg

    if not person_id and not email:
        raise ValueError("give a person_id or --email")
    try:
        return _find(person_id, email, settings)
    except psycopg.errors.UndefinedTable as exc:
        raise LookupError(f"the identity models are not built yet ({exc.diag.message_primary}); "
                          "run 'tailor dbt build' first") from exc


def _find(person_id: str | None, email: str | None, settings: Settings | None) -> PersonCluster:
    with connect("warehouse", settings) as conn:
        if email:
            found = conn.execute(
                "select identified.person_id from intermediate.int_customers_identified as identified "
                "inner join staging.stg_shop__customers as customers using (customer_id) "
                "where customers.email_normalized = lower(trim(%s)) order by identified.person_id limit 1",
                (email,),
            ).fetchone()
            if found is None:
                raise LookupError(f"no customer record with email {email!r} (emails are compared lower-cased, trimmed)")
            person_id = found[0]
        cluster = PersonCluster(person_id=str(person_id))
        cluster.customers = _rows(conn, """
            select map.customer_id, map.change, map.changed_at, customers.email, customers.first_name,
                   customers.last_name, customers.birth_date, customers.city, customers.is_guest
            from intermediate.int_person_map as map
            inner join staging.stg_shop__customers as customers using (customer_id)
            where map.person_id = %s
            order by map.customer_id""", (person_id,))
        history = _rows(conn, """
            select change_type, from_person_id, to_person_id, customer_count, recorded_at
            from intermediate.int_person_merges
            where from_person_id = %s or to_person_id = %s
            order by recorded_at, change_type""", (person_id, person_id))
        cluster.history = history
        if not cluster.customers and not history:
            raise LookupError(
                f"no person {person_id!r} in the person map; build it with 'tailor dbt build' "
                "or look the person up by --email")
        ids = [c["customer_id"] for c in cluster.customers]
        cluster.edges = _rows(conn, """
            select customer_id_l, customer_id_r, edge_type, identifier, match_probability, model_version
            from intermediate.int_identity_edges
            where customer_id_l = any(%s) or customer_id_r = any(%s)
            order by customer_id_l, customer_id_r, edge_type""", (ids, ids))
        cluster.identifiers = _rows(conn, """
            select customer_id, identifier_type, identifier, customers_sharing, excluded_reason
            from intermediate.int_identifiers_normalized
            where customer_id = any(%s)
            order by identifier_type, identifier, customer_id""", (ids,))
    return cluster
