"""Re-check consent and suppression at send time, and record every decision.

The audience was filtered when it was built, but a person may unsubscribe,
bounce or ask for erasure between build and send. ``marts.contactability``
holds the current state; we ask it in batches and fail closed: a person it
does not know, or whose address changed, gets no email.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

CONTACTABILITY_RELATION = "marts.contactability"
PURPOSE = "email_marketing"
_SUPPRESSION_WORDS = ("suppress", "bounce", "complain", "spam", "block", "erase", "invalid")


@dataclass(frozen=True)
class Decision:
    person_id: str
    email: str
    allowed: bool
    reason: str  # 'ok', 'consent_withdrawn', 'suppressed', 'email_changed'
    detail: str | None = None  # the mart's own reason text


def _skip_reason(mart_reason: str | None) -> str:
    """Fold the mart's free-text reason into the two reasons exports report."""
    text = (mart_reason or "").lower()
    return "suppressed" if any(word in text for word in _SUPPRESSION_WORDS) else "consent_withdrawn"


def check_contactability(
    conn: psycopg.Connection, rows: Sequence[dict[str, Any]]
) -> dict[str, Decision]:
    """Decisions for ``rows`` (audience rows) from one query against the view."""
    ids = [row["person_id"] for row in rows]
    try:
        current = {
            person_id: (email, can_email, reason)
            for person_id, email, can_email, reason in conn.execute(
                f"select person_id, email, can_email, reason from {CONTACTABILITY_RELATION} "
                "where person_id = any(%s)",
                (ids,),
            )
        }
    except psycopg.errors.UndefinedTable as exc:
        raise RuntimeError(
            f"{CONTACTABILITY_RELATION} does not exist, so consent cannot be checked at send time "
            "and nothing is sent. Build the marts first ('tailor run tailor_transform')."
        ) from exc
    decisions = {}
    for row in rows:
        person_id, email = row["person_id"], row["email"]
        found = current.get(person_id)
        if found is None:
            decision = Decision(
                person_id,
                email,
                False,
                "consent_withdrawn",
                f"not in {CONTACTABILITY_RELATION} (fail closed)",
            )
        else:
            current_email, can_email, reason = found
            if not can_email:
                decision = Decision(person_id, email, False, _skip_reason(reason), reason)
            elif current_email and current_email.strip().lower() != str(email).strip().lower():
                decision = Decision(
                    person_id,
                    email,
                    False,
                    "email_changed",
                    "address changed since the audience was built",
                )
            else:
                decision = Decision(person_id, email, True, "ok", reason)
        decisions[person_id] = decision
    return decisions


def record_decisions(
    conn: psycopg.Connection, decisions: Iterable[Decision], export_run_id: int
) -> None:
    """Append decisions to ``audit.consent_decisions`` (allow and deny: a full trail).

    ``reason`` holds the normalized reason only, so audits can group by it;
    the mart's own wording goes to ``audit.export_results.detail``.
    """
    with conn.cursor() as cur:
        cur.executemany(
            "insert into audit.consent_decisions (person_id, email, purpose, decision, reason, export_run_id) "
            "values (%s, %s, %s, %s, %s, %s)",
            [
                (
                    d.person_id,
                    d.email,
                    PURPOSE,
                    "allow" if d.allowed else "deny",
                    d.reason,
                    export_run_id,
                )
                for d in decisions
            ],
        )
