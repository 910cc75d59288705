"""The probabilistic matcher: a Splink (Fellegi-Sunter) model over customer records.

Why a model and not more rules: records of one person that share no key
(a second account under another email, no phone in common) still agree on
name, birth date, place and phone, while two different people rarely
agree on all of them; how much each agreement is worth depends on how
common the value is. Splink estimates exactly that: u (how often
non-matches agree) by random sampling, m (how often matches agree) by
expectation maximisation, both from the data itself and never from the
generator's ground truth.

m is fixed, documented priors by default (``M_PRIORS``): on the synthetic
shop, records of one person agree exactly on almost everything, and EM
collapses (m of 0 for every non-exact level, which Splink rejects).
``MatcherConfig(train_m=True)`` runs EM from those priors on real data and
keeps the priors for any pass that fails.

Runs between staging and the identity models: reads the staging views
(``sql/match_input.sql``), scores candidate pairs in DuckDB (an in-process
copy of ~100 bytes per record, much faster than Splink's Postgres backend
for the embedded warehouse) and replaces ``ml.identity_links`` with every
pair at or above ``store_floor``; dbt turns those at or above
``identity_match_threshold`` into graph edges, so the threshold can be
tuned without re-running the matcher.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tailor.config import Settings, get_settings
from tailor.db.connect import connect

INPUT_SQL = Path(__file__).with_name("sql") / "match_input.sql"
COLUMNS = ("unique_id", "first_name", "last_name", "birth_date", "city", "postcode",
           "phone", "email_local")


# m: P(level | same person), per comparison, levels in order (the null level
# excluded). Judgement, not fitted: one person's records agree exactly on
# first name and birth date ~90% of the time (typos, nicknames, partial
# dates the rest) and almost never disagree outright, which is what keeps
# household members (same surname, place and laptop, other first name and
# birth date) apart; surnames ~90% (marriage); place ~85%; phones ~80%
# (rarely two different numbers); email local parts, without the names (see
# PREPARE_SQL), ~40%. Shared devices are deliberately not compared: a
# household shares surname, place and laptop, and a device's tiny u made
# that outweigh two different first names.
M_PRIORS: dict[str, list[float]] = {
    "first_name": [0.90, 0.06, 0.03, 0.009, 0.001],        # exact, JW>=.92, >=.88, >=.7, else
    "last_name": [0.90, 0.04, 0.02, 0.02, 0.02],
    "birth_date": [0.90, 0.06, 0.03, 0.005, 0.003, 0.002],  # exact, lev<=1, 1 month, 1 y, 10 y, else
    "city": [0.85, 0.15],
    "postcode": [0.80, 0.20],
    "phone": [0.80, 0.17, 0.03],                            # exact, lev<=1, else
    "email_local": [0.40, 0.05, 0.05, 0.50],                # exact, lev<=1, lev<=3, else
}


@dataclass(frozen=True)
class MatcherConfig:
    """Knobs of the matcher; defaults tuned on the synthetic shop, see the README."""

    blocked_values: tuple[str, ...] = ()
    store_floor: float = 0.5             # links below this are not stored at all
    u_max_pairs: float = 2e6             # random pairs for u estimation
    prior_recall: float = 0.8            # assumed recall of the deterministic rules (prior estimate)
    duplicate_share: float = 0.05        # prior when those rules find no pair: share of records with a duplicate
    seed: int = 42                       # u sampling seed: same data, same model
    blocking: tuple[tuple[str, ...], ...] = (
        ("last_name", "birth_date"),
        ("first_name", "last_name", "city"),
        ("phone",),
        ("email_local",),
        ("first_name", "birth_date"),
    )
    train_m: bool = False                # EM from the priors (see the module docstring)
    em_blocking: tuple[tuple[str, ...], ...] = (
        ("last_name", "birth_date"),
        ("phone",),
        ("first_name", "city"),
    )

    @classmethod
    def from_project(cls, settings: Settings | None = None, **overrides: Any) -> MatcherConfig:
        """Config with the blocked values taken from the dbt project's vars (one list for both)."""
        import yaml

        settings = settings or get_settings()
        project = yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text())
        blocked = tuple(str(v).lower() for v in (project.get("vars") or {}).get("identity_blocked_values") or ())
        return cls(blocked_values=blocked, **overrides)


@dataclass
class MatchResult:
    """What one matcher run did."""

    records: int
    candidate_pairs: int
    links: int
    model_version: str
    computed_at: datetime
    seconds: float
    model: dict[str, Any] = field(repr=False, default_factory=dict)

    def summary(self) -> str:
        return (f"matcher {self.model_version}: {self.records:,} records, "
                f"{self.candidate_pairs:,} candidate pairs, {self.links:,} links stored "
                f"in {self.seconds:.1f}s")


def load_records(config: MatcherConfig, settings: Settings | None = None) -> list[tuple]:
    """The comparison input: one row per current customer (see match_input.sql)."""
    import psycopg

    params = {"blocked": list(config.blocked_values) or [""]}
    with connect("warehouse", settings) as conn:
        try:
            return conn.execute(INPUT_SQL.read_text(), params).fetchall()
        except psycopg.errors.UndefinedTable as exc:
            raise RuntimeError(
                f"The matcher could not read the staging views ({exc}). Build staging first: "
                "'tailor dbt build --select staging'."
            ) from exc


def splink_settings(config: MatcherConfig, records: int = 2) -> Any:
    """The model: which fields are compared, at which levels, and how pairs are blocked."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=min(0.5, config.duplicate_share / max(records - 1, 1)),
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("first_name").configure(
                term_frequency_adjustments=True, m_probabilities=M_PRIORS["first_name"]),
            cl.NameComparison("last_name").configure(
                term_frequency_adjustments=True, m_probabilities=M_PRIORS["last_name"]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True).configure(
                m_probabilities=M_PRIORS["birth_date"]),
            cl.ExactMatch("city").configure(
                term_frequency_adjustments=True, m_probabilities=M_PRIORS["city"]),
            cl.ExactMatch("postcode").configure(m_probabilities=M_PRIORS["postcode"]),
            cl.LevenshteinAtThresholds("phone", [1]).configure(m_probabilities=M_PRIORS["phone"]),
            cl.LevenshteinAtThresholds("email_local", [1, 3]).configure(
                m_probabilities=M_PRIORS["email_local"]),
        ],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in config.blocking],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


# The email local part minus the person's names and birth year:
# "anna.li88x" -> "x". Names and birth date are compared on their own; a
# local part built from them ("annali", "anna.li88") would count the same
# evidence twice (Fellegi-Sunter assumes independent fields), which links
# two different Anna Lis born in '88 through one email pattern.
# DuckDB's strip_accents folds "Álvaro" to the "alvaro" that emails use.
PREPARE_SQL = """
with residual as (
    select
        *,
        regexp_replace(
            replace(replace(replace(email_local,
                coalesce(strip_accents(first_name), chr(0)), ''),
                coalesce(strip_accents(last_name), chr(0)), ''),
                coalesce(substr(birth_date, 3, 2), chr(0)), ''),
            '[^a-z0-9]', '', 'g') as email_rest
    from raw_records
)
select
    * exclude (email_local, email_rest),
    case when length(email_rest) > 1 then email_rest end as email_local
from residual
"""


def train_and_predict(rows: list[tuple], config: MatcherConfig) -> tuple[list[tuple], int, dict[str, Any]]:
    """Estimate the model on ``rows`` and score the blocked pairs.

    Returns (pairs with probability >= store_floor as (l, r, p, weight),
    number of candidate pairs, the trained model as a dict).
    """
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)
    raw = pa.table({name: pa.array([r[i] for r in rows]) for i, name in enumerate(COLUMNS)})
    con = duckdb.connect()
    con.register("raw_records", raw)
    table = con.sql(PREPARE_SQL).to_arrow_table()
    db_api = DuckDBAPI(connection=con)
    records = db_api.register(table, table_name="customers")
    linker = Linker(records, splink_settings(config, len(rows)), log_level=logging.WARNING)

    con.register("prepared_records", table)
    [(sure_pairs,)] = con.sql(
        "select count(*) from prepared_records as l join prepared_records as r on l.unique_id < r.unique_id "
        "and ((l.email_local = r.email_local and l.birth_date = r.birth_date) "
        "or (l.phone = r.phone and l.last_name = r.last_name))"
    ).fetchall()
    if sure_pairs:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("email_local", "birth_date"), block_on("phone", "last_name")],
            recall=config.prior_recall,
        )
    else:  # nothing to estimate the prior from (a new shop): keep the duplicate_share prior
        logging.getLogger(__name__).warning("no near-certain pairs to estimate the prior from; using duplicate_share")
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
    if config.train_m:
        for cols in config.em_blocking:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
            except ValueError as exc:  # degenerate EM: keep the priors for this pass
                logging.getLogger(__name__).warning("EM pass %s skipped, m priors kept: %s", cols, exc)

    scored = linker.inference.predict(threshold_match_probability=0.0)
    con.register("scored", scored.as_duckdbpyrelation() if hasattr(scored, "as_duckdbpyrelation")
                 else scored.as_pandas_dataframe())
    [(candidate_pairs,)] = con.sql("select count(*) from scored").fetchall()
    links = con.execute(
        """
        select least(unique_id_l, unique_id_r)::bigint, greatest(unique_id_l, unique_id_r)::bigint,
               max(match_probability), max(match_weight)
        from scored
        where match_probability >= ?
        group by 1, 2
        order by 1, 2
        """,
        [config.store_floor],
    ).fetchall()
    model = linker.misc.save_model_to_json()
    return links, candidate_pairs, model


def model_version(model: dict[str, Any]) -> str:
    """A short content hash of the trained model: same parameters, same version."""
    stable = {key: value for key, value in model.items() if key != "linker_uid"}  # random per Linker
    return "splink-" + hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:12]


def store_links(links: list[tuple], result: MatchResult, settings: Settings | None = None) -> None:
    """Replace ml.identity_links with this run's links, in one transaction."""
    with connect("warehouse", settings) as conn:
        conn.execute("delete from ml.identity_links")
        with conn.cursor().copy(
            "copy ml.identity_links (customer_id_l, customer_id_r, match_probability, match_weight, "
            "model_version, computed_at) from stdin"
        ) as copy:
            for left, right, probability, weight in links:
                copy.write_row((left, right, min(max(probability, 0.0), 1.0), weight,
                                result.model_version, result.computed_at))
        conn.execute(
            "insert into ml.identity_match_runs (model_version, computed_at, records, candidate_pairs, "
            "links, seconds, settings) values (%s, %s, %s, %s, %s, %s, %s)",
            (result.model_version, result.computed_at, result.records, result.candidate_pairs,
             result.links, result.seconds, json.dumps(result.model, default=str)),
        )


def run_matcher(settings: Settings | None = None, config: MatcherConfig | None = None) -> MatchResult:
    """Load records, train, score and store: what `tailor identity resolve` and the DAG run."""
    settings = settings or get_settings()
    config = config or MatcherConfig.from_project(settings)
    started = time.monotonic()
    computed_at = datetime.now(UTC)
    rows = load_records(config, settings)
    if len(rows) < 2:
        links, candidate_pairs, model = [], 0, {}
    else:
        links, candidate_pairs, model = train_and_predict(rows, config)
    result = MatchResult(
        records=len(rows), candidate_pairs=candidate_pairs, links=len(links),
        model_version=model_version(model), computed_at=computed_at,
        seconds=0.0, model=model,
    )
    result.seconds = time.monotonic() - started
    store_links(links, result, settings)
    return result
