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

Training and scoring are separate, because the transform runs every few
minutes and retraining plus rescoring every pair took most of it:

* :func:`train_model` (``tailor identity train``, the weekly
  ``tailor_train`` DAG) estimates the model and stores it as a new version
  in ``ml.identity_models``: Splink's model JSON plus the term-frequency
  tables of the TF-adjusted columns, versioned by a hash of both. Nothing
  else trains (a fresh warehouse with no model trains once, and logs it).
* :func:`run_matcher` (``tailor identity resolve``, the transform DAG)
  scores with the newest stored model, its TF tables registered as lookups
  so a score never depends on how common a value is *today*: a pair's score
  is a function of the two records and the model version alone. That is
  what makes incremental scoring exact: only pairs with a changed side
  (new record, or a different md5 of its prepared row than
  ``ml.identity_match_records`` holds) are scored, by the model's own
  blocking rules each restricted to such pairs, so every pair comes from
  the same rule as in a full run; links touching changed or removed records
  are replaced, the rest kept. A full rescoring (``--full``, a newer model
  than the links', or no scored records) replaces everything.

Runs between staging and the identity models: reads the staging views
(``sql/match_input.sql``), scores candidate pairs in DuckDB (an in-process
copy of ~100 bytes per record, much faster than Splink's Postgres backend
for the embedded warehouse) and keeps ``ml.identity_links`` at every pair
at or above ``store_floor``; dbt turns those at or above
``identity_match_threshold`` into graph edges, so the threshold can be
tuned without re-running the matcher. The warehouse side (model versions,
scored records, links, runs) is :mod:`tailor.identity.store`.
"""


from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.config import Settings, get_settings
from tailor.db.connect import database_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    # What the matcher compares: an Arrow table with COLUMNS (load_records'),
    # or tuples in COLUMNS order (hand-built records, the tests').
    Records = pa.Table | Sequence[tuple]

INPUT_SQL = Path(__file__).with_name("sql") / "match_input.sql"
# The one dbt model INPUT_SQL reads: the transform DAG (and the pipeline
# benchmark) start the matcher as soon as it is built, alongside the rest
# of staging.
INPUT_MODEL = "model.tailor.stg_shop__customers"
# The staging view over what it writes (ml.identity_links): only the models
# reading it wait for the matcher; the rest of the build does not.
OUTPUT_MODEL = "model.tailor.stg_ml__identity_links"
COLUMNS = ("unique_id", "first_name", "last_name", "birth_date", "city", "postcode",
           "phone", "email_local")
UNDEFINED_TABLE = "42P01"  # SQLSTATE: the staging views are not built yet


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


@dataclass(frozen=True)
class TrainedModel:
    """One stored model version: Splink's model JSON and the TF tables it was trained with.

    ``term_frequencies`` maps each TF-adjusted column to (value, tf) pairs;
    scoring looks values up there, never in the data being scored.
    """

    model: dict[str, Any] = field(repr=False)
    term_frequencies: dict[str, list[tuple[str, float]]] = field(repr=False)
    version: str
    records: int
    trained_at: datetime
    seconds: float = 0.0

    def summary(self) -> str:
        values = ", ".join(f"{column} {len(rows):,}" for column, rows in sorted(self.term_frequencies.items()))
        return (f"trained identity model {self.version} on {self.records:,} records in {self.seconds:.1f}s "
                f"(term frequencies: {values or 'none'})")


@dataclass
class MatchResult:
    """What one scoring run did."""

    mode: str                           # 'full' or 'incremental'
    records: int                        # current customer records
    changed_records: int                # new or changed since the last run (all of them when full)
    removed_records: int                # scored last time, gone now
    candidate_pairs: int                # pairs scored by this run
    links: int                          # links this run wrote (>= store_floor)
    model_version: str
    computed_at: datetime
    seconds: float
    reason: str = ""                    # why a run was full
    links_total: int = 0                # ml.identity_links after the run
    trained: TrainedModel | None = field(default=None, repr=False)  # set when this run had to bootstrap a model

    def summary(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"matcher {self.model_version}, {self.mode}{why}: {self.records:,} records, "
                f"{self.changed_records:,} changed, {self.removed_records:,} removed, "
                f"{self.candidate_pairs:,} candidate pairs scored, {self.links:,} links written, "
                f"{self.links_total:,} stored, in {self.seconds:.1f}s")


def load_records(config: MatcherConfig, settings: Settings | None = None) -> pa.Table:
    """The comparison input: one row per current customer, ``COLUMNS`` then ``record_md5`` (match_input.sql).

    Read straight into Arrow by the ADBC driver (binary COPY, decoded in
    C++): the transform runs the matcher in a thread beside dbt's, and
    100k rows as Python tuples, then Arrow arrays, held the interpreter
    lock for half a second of the incremental pass.
    """
    import adbc_driver_postgresql.dbapi as adbc

    from tailor.db.connect import NotRunningError

    blocked = list(config.blocked_values) or [""]
    try:
        conn = adbc.connect(database_url("warehouse", settings))
    except adbc.Error as exc:
        raise NotRunningError(
            f"Cannot connect to the 'warehouse' database: {exc}. "
            "Is it running? Try 'tailor db up' (embedded) or check TAILOR_WAREHOUSE_URL."
        ) from exc
    with conn, conn.cursor() as cur:
        try:
            cur.execute(INPUT_SQL.read_text(), parameters=(blocked,))
        except adbc.Error as exc:
            if getattr(exc, "sqlstate", None) == UNDEFINED_TABLE:
                raise RuntimeError(
                    f"The matcher could not read the staging views ({exc}). Build staging first: "
                    "'tailor dbt build --select staging'."
                ) from exc
            raise
        table = cur.fetch_arrow_table()
    return table.rename_columns([*COLUMNS, "record_md5"]).cast(records_schema(with_md5=True))


def records_table(records: Records) -> pa.Table:
    """``records`` as an Arrow table of ``COLUMNS`` (tuples in that order; later fields and columns ignored)."""
    import pyarrow as pa

    if isinstance(records, pa.Table):
        return records.select(list(COLUMNS))
    columns = list(zip(*records, strict=True))[:len(COLUMNS)] or [() for _ in COLUMNS]
    return pa.table(columns, schema=records_schema())


def records_schema(*, with_md5: bool = False) -> pa.Schema:
    """The Arrow schema of the records: unique_id a bigint, every compared field text."""
    import pyarrow as pa

    names = [*COLUMNS, "record_md5"] if with_md5 else list(COLUMNS)
    return pa.schema([(name, pa.int64() if name == "unique_id" else pa.string()) for name in names])


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



# Added to every blocking rule of an incremental run: the same rule, only
# the pairs with a new or changed side (see the module docstring).
CHANGED_PAIRS_SQL = "(l.is_changed or r.is_changed)"


@dataclass(frozen=True)
class Scored:
    """The output of one scoring pass in DuckDB."""

    links: list[tuple[int, int, float, float]]  # (l, r, probability, weight) >= store_floor
    candidate_pairs: int


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _prepared(records: Records, changed: set[int] | None = None) -> tuple[Any, Any]:
    """(DuckDB connection, prepared arrow table) of ``records``; with ``changed``, an is_changed column."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = records_table(records)
    if changed is not None:
        raw = raw.append_column("is_changed", pc.is_in(raw["unique_id"], pa.array(sorted(changed), pa.int64())))
    con = duckdb.connect()
    con.register("raw_records", raw)
    return con, con.sql(PREPARE_SQL).to_arrow_table()


def tf_columns(model: dict[str, Any]) -> list[str]:
    """The columns the model adjusts for term frequency (first_name, last_name, city)."""
    return sorted({level["tf_adjustment_column"] for comparison in model["comparisons"]
                   for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")})


def train(rows: Records, config: MatcherConfig) -> TrainedModel:
    """Estimate the model on ``rows`` (no database): u by sampling, the prior, m if asked; plus the TF tables."""
    from splink import DuckDBAPI, Linker, block_on

    _quiet_splink()
    started = time.monotonic()
    con, table = _prepared(rows)
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

    model = linker.misc.save_model_to_json()
    model.pop("linker_uid", None)  # random per Linker, not part of the model
    prefix = model["term_frequency_adjustment_column_prefix"]
    term_frequencies = {}
    for column in tf_columns(model):
        tf_table = linker.table_management.compute_tf_table(column)
        term_frequencies[column] = con.sql(
            f'select "{column}", "{prefix}{column}" from {tf_table.physical_name} '
            f'where "{column}" is not null order by 1').fetchall()
    return TrainedModel(
        model=model, term_frequencies=term_frequencies, version=model_version(model, term_frequencies),
        records=len(rows), trained_at=datetime.now(UTC), seconds=time.monotonic() - started,
    )


def score(rows: Records, trained: TrainedModel, config: MatcherConfig,
          changed: set[int] | None = None) -> Scored:
    """Score the blocked pairs of ``rows`` with a stored model (no database).

    ``changed=None`` scores every pair the model's blocking rules produce;
    a set of unique_ids scores only the pairs with at least one side in it,
    each still produced by the same rule as in a full run (Splink excludes
    a rule's pairs from the rules after it, and a changed side holds for
    all of them alike).
    """
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    con, table = _prepared(rows, changed)
    db_api = DuckDBAPI(connection=con)
    settings = json.loads(json.dumps(trained.model))
    if changed is not None:
        settings["blocking_rules_to_generate_predictions"] = [
            {**rule, "blocking_rule": f"({rule['blocking_rule']}) and {CHANGED_PAIRS_SQL}"}
            for rule in settings["blocking_rules_to_generate_predictions"]
        ]
    linker = Linker(db_api.register(table, table_name="customers"), settings, log_level=logging.WARNING)
    prefix = settings["term_frequency_adjustment_column_prefix"]
    for column, frequencies in trained.term_frequencies.items():
        lookup = pa.table({column: pa.array([v for v, _ in frequencies], pa.string()),
                           f"{prefix}{column}": pa.array([tf for _, tf in frequencies], pa.float64())})
        linker.table_management.register_term_frequency_lookup(
            db_api.register(lookup, table_name=f"tf_lookup_{column}"), column)

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
    return Scored(links=links, candidate_pairs=candidate_pairs)


def model_version(model: dict[str, Any], term_frequencies: dict[str, list[tuple[str, float]]] | None = None) -> str:
    """A short content hash of a trained model and its TF tables: same parameters, same version."""
    stable = {key: value for key, value in model.items() if key != "linker_uid"}  # random per Linker
    content = {"model": stable, "term_frequencies": {k: [list(r) for r in v] for k, v in (term_frequencies or {}).items()}}
    return "splink-" + hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]


def train_model(settings: Settings | None = None, config: MatcherConfig | None = None, *,
                rows: Records | None = None) -> TrainedModel:
    """Train on the current records and store the model as the newest version (`tailor identity train`)."""
    from tailor.identity import store

    settings = settings or get_settings()
    config = config or MatcherConfig.from_project(settings)
    rows = load_records(config, settings) if rows is None else rows
    if len(rows) < 2:
        raise RuntimeError(
            f"Cannot train the identity model on {len(rows)} customer record(s): it needs at least two. "
            "Capture and build staging first ('tailor dbt build --select staging')."
        )
    trained = train(rows, config)
    store.save_model(trained, settings)
    logging.getLogger(__name__).info("%s", trained.summary())
    return trained


def _full_reason(full: bool, last: Any, scored: dict[int, str], trained: TrainedModel,
                 config: MatcherConfig) -> str:
    """Why this run must rescore everything; empty when incremental is exact."""
    if full:
        return "requested"
    if not scored or last is None:
        return "no scored records yet"
    if last.model_version != trained.version:
        return f"links are from {last.model_version}, newest model is {trained.version}"
    if last.store_floor != config.store_floor:
        return f"store_floor changed from {last.store_floor} to {config.store_floor}"
    return ""


def run_matcher(settings: Settings | None = None, config: MatcherConfig | None = None, *,
                full: bool = False) -> MatchResult:
    """Score with the newest stored model and store the links: `tailor identity resolve` and the transform DAG.

    Incremental by default (only pairs touching records that changed since
    the last run); full with ``full=True`` or when incremental could not be
    exact. Never trains, except once on a warehouse without any model.
    """
    from tailor.identity import store

    settings = settings or get_settings()
    config = config or MatcherConfig.from_project(settings)
    log = logging.getLogger(__name__)
    started = time.monotonic()
    computed_at = datetime.now(UTC)
    with store.scoring_lock(settings):
        rows = load_records(config, settings)
        trained = store.newest_model(settings)
        bootstrapped = None
        if trained is None and len(rows) >= 2:
            log.warning("no identity model in ml.identity_models: training one on the current %d records "
                        "(bootstrap; later runs reuse it until 'tailor identity train')", len(rows))
            trained = bootstrapped = train_model(settings, config, rows=rows)
        current = dict(zip(rows["unique_id"].to_pylist(), rows["record_md5"].to_pylist(), strict=True))
        scored_before = store.scored_records(settings)
        last = store.last_run(settings)
        version = trained.version if trained else "untrained"
        reason = _full_reason(full, last, scored_before, trained, config) if trained else "no model"
        if reason:
            changed, removed = set(current), set()
        else:
            changed = {uid for uid, md5 in current.items() if scored_before.get(uid) != md5}
            removed = set(scored_before) - set(current)
        if trained is None or len(rows) < 2 or not changed:
            result_scored = Scored(links=[], candidate_pairs=0)
        else:
            result_scored = score(rows, trained, config, None if reason else changed)
        result = MatchResult(
            mode="full" if reason else "incremental", records=len(rows), changed_records=len(changed),
            removed_records=len(removed), candidate_pairs=result_scored.candidate_pairs,
            links=len(result_scored.links), model_version=version, computed_at=computed_at,
            seconds=0.0, reason=reason, trained=bootstrapped,
        )
        records = [(uid, current[uid]) for uid in sorted(changed)]
        if reason:
            store.replace_all(result_scored.links, records, result, config, started, settings)
        else:
            store.apply_changes(result_scored.links, records, sorted(removed), result, config, started, settings)
    return result
