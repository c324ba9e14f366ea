"""The mart gate: Great Expectations on the built marts, after `dbt build` and before publish.

dbt tests guard the models (grain, relationships, accepted values, unit tests); this gate guards
the *published result* with checks that need the account's history or the pipeline's own ledger.
The marts are read from DuckDB into pandas and validated with GX's pandas datasource (GX's SQL
datasource does not work on DuckDB, STACK_NOTES.md §3.2). Only these columns of
`marts.fct_follower_growth_daily` are relied on: platform, account_id, metric_date, followers,
followers_gained, followers_lost, net_followers, is_estimated, views, reach, engagements,
growth_rate_28d; plus raw.accounts (who is active) and raw.coverage (what was fetched OK).

| suite                               | blocks publish | what                                              |
|-------------------------------------|----------------|---------------------------------------------------|
| `marts.fct_follower_growth_daily`   | yes            | keys not null, one row per account and day,       |
|                                     |                | counts >= 0                                       |
| `marts.follower_continuity`         | yes            | followers(d) - followers(d-1) = net flow(d),      |
|                                     |                | within a tolerance, unless either day is_estimated|
| `marts.completeness`                | yes            | every active account has a row for every day the  |
|                                     |                | coverage ledger fetched OK (from its first row    |
|                                     |                | on), and no gaps between its first and last row   |
| `marts.growth_plausibility`         | yes            | 28-day growth rate within generous bounds (>=100  |
|                                     |                | followers)                                        |
| `marts.freshness`                   | no (warning)   | stale accounts and platforms, listed              |
| `marts.anomalies`                   | no (warning)   | robust z-score (median/MAD of the account's own   |
|                                     |                | history) of daily net followers, views, engagements|

Every failing row becomes a row of `marts.fct_data_quality_findings` (rewritten by each gate run:
the current findings, published with the marts). Warnings never block. A failed hard expectation
raises `MartGateError` after the findings and the validation history are committed: the caller
does not publish, so the previous BI copy stays. An expectation that raised is an error of the
gate (`MartGateError` with `gate_error=True`), never a pass.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from ingestion.core.days import pacific_today
from ingestion.core.platforms import FRESHNESS_LAG_DAYS
from ingestion.core.settings import Settings
from ingestion.extract.landing import safe_name
from ingestion.gates.mart_diagnosis import FINDINGS_TABLE, FRESHNESS_PLATFORMS, HARD_SUITES, diagnose
from ingestion.gates.quality import GxOutcome, SuiteRun, Validator, docs_root, record_validation, write_index
from ingestion.load.warehouse import connect, transaction

log = logging.getLogger(__name__)

FACT = "marts.fct_follower_growth_daily"
FACT_COLUMNS = (
    "platform", "account_id", "metric_date", "followers", "followers_gained", "followers_lost", "net_followers",
    "is_estimated", "views", "reach", "engagements", "growth_rate_28d",
)
COUNT_COLUMNS = ("followers", "followers_gained", "followers_lost", "views", "reach", "engagements")
FINDING_COLUMNS = (
    "found_at", "check_name", "severity", "platform", "account_id", "metric_date", "metric", "value", "expected",
    "detail",
)


class MartGateError(RuntimeError):
    """A hard expectation failed (or the gate broke): do not publish, keep the previous BI copy.

    `cause` says in one line what blocked the publish and `repair` the command that repairs it; the
    message is both, so a person reading one line (CLI, Airflow task log, alert) knows what to do.
    `report` is the run's RunReport when the pipeline ran the gate (the CLI prints what loaded).
    """

    def __init__(self, cause: str, result: MartGateResult | None = None, gate_error: bool = False,
                 repair: str = "`socialpulse run` after the fix"):
        super().__init__(f"mart gate blocked publish (the previous BI copy stays): {cause}. Repair: {repair}")
        self.cause = cause
        self.repair = repair
        self.result = result
        self.gate_error = gate_error
        self.report = None


@dataclass
class MartGateConfig:
    """Tolerances and thresholds (defaults suit the nightly; tests tighten or loosen them)."""

    # |followers(d) - followers(d-1) - net(d)| <= max(abs, rel * followers(d)): Meta's unique
    # follow counts and its follower stock do not always reconcile to the unit.
    continuity_abs_tolerance: float = 2.0
    continuity_rel_tolerance: float = 0.001
    # Days an account's last row may lag the reference day before it is listed as stale
    # (YouTube Analytics lags 2-3 days).
    freshness_lag_days: dict[str, int] = field(
        default_factory=lambda: dict(FRESHNESS_LAG_DAYS))
    # 28-day growth rate bounds for accounts with at least `growth_min_followers` followers:
    # beyond them the number is a bug (a wrong anchor), not a campaign.
    growth_rate_min: float = -0.9
    growth_rate_max: float = 10.0
    growth_min_followers: int = 100
    # Robust z-score |0.6745 (x - median) / MAD| above `anomaly_z` is an anomaly, when the account
    # has `anomaly_min_history` values and |x - median| is at least the metric's minimum.
    anomaly_metrics: tuple[str, ...] = ("net_followers", "views", "engagements")
    anomaly_z: float = 3.5
    anomaly_min_history: int = 14
    anomaly_min_abs_deviation: dict[str, float] = field(
        default_factory=lambda: {"net_followers": 5.0, "views": 50.0, "engagements": 10.0})


@dataclass
class MartGateResult(GxOutcome):
    """Outcome of one mart gate run (JSON-able through `to_dict`)."""

    run_id: str
    success: bool
    rows: int
    findings: dict[str, int] = field(default_factory=dict)  # "check_name/severity" -> rows
    stale_accounts: list[dict[str, Any]] = field(default_factory=list)
    load_id: str | None = None  # raw.validation_runs.load_id is NULL for the mart gate

    @property
    def hard_failures(self) -> list[dict[str, Any]]:
        """Failures that block publish."""
        return [f for f in self.failures if f["severity"] == "error"]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run reports and XCom."""
        return {
            "run_id": self.run_id, "success": self.success, "rows": self.rows,
            "suites": [s.to_dict() for s in self.suites],
            "failures": [{k: v for k, v in f.items() if k != "unexpected_index"} for f in self.failures],
            "raised": self.raised, "findings": self.findings, "stale_accounts": self.stale_accounts,
            **self.timing_dict(),
        }


# ---------------------------------------------------------------------------------------------- frames


def _read(con, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The fact, the active accounts, and the days the coverage ledger says were fetched OK."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'fct_follower_growth_daily'"
    ).fetchone()[0] + con.execute(
        "select count(*) from duckdb_views() where schema_name = 'marts' and view_name = 'fct_follower_growth_daily'"
    ).fetchone()[0]
    if not exists:
        raise MartGateError(f"{FACT} does not exist: dbt build has not built it", repair="`socialpulse run` "
                            "(its dbt build creates the marts)")
    fact = con.execute(f"select {', '.join(FACT_COLUMNS)} from {FACT}").df()
    fact["metric_date"] = pd.to_datetime(fact["metric_date"]).astype("datetime64[us]")
    accounts = con.execute(
        """
        select platform, account_id, active_from, active_until
        from raw.accounts
        where (active_from is null or active_from <= ?) and (active_until is null or active_until >= ?)
        """,
        [as_of, as_of],
    ).df()
    con.register("gate_fact", fact)
    try:
        expected = con.execute(
            """
            with active as (
                select platform, account_id, active_from, active_until from raw.accounts
                where (active_from is null or active_from <= $as_of)
                    and (active_until is null or active_until >= $as_of)
            ),
            observed as (
                select platform, account_id, min(metric_date)::date as first_day, max(metric_date)::date as last_day
                from gate_fact group by all
            ),
            covered as (
                select distinct platform, account_id, unnest(generate_series(since, until, interval 1 day))::date
                    as metric_date
                from raw.coverage
                where outcome = 'ok' and metric_name = '*'
            ),
            spine as (
                select platform, account_id,
                    unnest(generate_series(first_day, last_day, interval 1 day))::date as metric_date
                from observed
            ),
            wanted as (
                select covered.platform, covered.account_id, covered.metric_date, 'coverage ledger: fetched ok'
                    as reason
                from covered
                join active using (platform, account_id)
                left join observed using (platform, account_id)
                where (observed.first_day is null or covered.metric_date >= observed.first_day)
                    and (active.active_from is null or covered.metric_date >= active.active_from)
                    and (active.active_until is null or covered.metric_date <= active.active_until)
                union
                select spine.platform, spine.account_id, spine.metric_date, 'between first and last row'
                from spine join active using (platform, account_id)
            )
            select wanted.platform, wanted.account_id, wanted.metric_date, min(wanted.reason) as reason,
                bool_or(gate_fact.account_id is not null) as has_row
            from wanted
            left join gate_fact
                on wanted.platform = gate_fact.platform and wanted.account_id = gate_fact.account_id
                and wanted.metric_date = gate_fact.metric_date::date
            group by all
            """,
            {"as_of": as_of},
        ).df()
    finally:
        con.unregister("gate_fact")
    expected["metric_date"] = pd.to_datetime(expected["metric_date"]).astype("datetime64[us]")
    return fact, accounts, expected


def _counts_as_float(fact: pd.DataFrame) -> pd.DataFrame:
    """The fact with its count columns as float64, for GX's checks of the fact itself.

    GX's between-check is vectorised only for numpy int/float columns: on a nullable Int64 column
    (DuckDB's BIGINT with NULLs) it calls a Python function per value, ~0.25 s for the six count
    columns of two years x 170 accounts, a fifth of the gate. Null stays null (NaN) and is skipped
    as before, and the sign of every integer survives the conversion, so `>= 0` fails on exactly
    the same rows; findings carry the value as a double either way. What differs: a failure's
    sample values and sample rows show 5.0 where they showed 5.
    """
    return fact.astype({c: "float64" for c in COUNT_COLUMNS})


def _continuity(fact: pd.DataFrame, cfg: MartGateConfig) -> pd.DataFrame:
    f = fact.sort_values(["platform", "account_id", "metric_date"]).reset_index(drop=True)
    previous = f.groupby(["platform", "account_id"], sort=False)[["metric_date", "followers", "is_estimated"]].shift(1)
    estimated = f["is_estimated"].astype("boolean").fillna(True)
    previous_estimated = previous["is_estimated"].astype("boolean").fillna(True)
    checkable = (
        (previous["metric_date"] == f["metric_date"] - pd.Timedelta(days=1))
        & f["followers"].notna() & previous["followers"].notna() & f["net_followers"].notna()
        & ~estimated & ~previous_estimated
    )
    c = f.loc[checkable, ["platform", "account_id", "metric_date"]].copy()
    value = f.loc[checkable, "followers"].astype("float64")
    prior = previous.loc[checkable, "followers"].astype("float64")
    net = f.loc[checkable, "net_followers"].astype("float64")
    c["metric"] = "followers"
    c["value"] = value
    c["expected"] = prior + net
    c["gap"] = value - c["expected"]
    c["tolerance"] = (value.abs() * cfg.continuity_rel_tolerance).clip(lower=cfg.continuity_abs_tolerance)
    c["excess"] = c["gap"].abs() - c["tolerance"]
    c["prior"], c["net"] = prior, net
    return c.reset_index(drop=True)


def _freshness(fact: pd.DataFrame, accounts: pd.DataFrame, as_of: date, cfg: MartGateConfig) -> pd.DataFrame:
    reference = pd.Timestamp(as_of)
    last = fact.groupby(["platform", "account_id"], as_index=False)["metric_date"].max()
    active = accounts[accounts["platform"].isin(FRESHNESS_PLATFORMS)][["platform", "account_id"]]
    rows = active.merge(last, on=["platform", "account_id"], how="left")
    rows["scope"] = "account"
    platform_last = rows.groupby("platform", as_index=False)["metric_date"].max()
    platform_last["account_id"] = None
    platform_last["scope"] = "platform"
    frame = pd.concat([rows, platform_last], ignore_index=True)
    frame["metric"] = "days_since_last_row"
    frame["has_rows"] = frame["metric_date"].notna()
    frame["value"] = (reference - frame["metric_date"]).dt.days.astype("float64")
    frame["expected"] = frame["platform"].map(lambda p: float(cfg.freshness_lag_days.get(p, 2)))
    frame["excess_days"] = frame["value"] - frame["expected"]
    frame["detail"] = [
        f"{scope} {'has no rows' if pd.isna(d) else f'last row {d.date()}'} (reference day {as_of})"
        for scope, d in zip(frame["scope"], frame["metric_date"], strict=True)
    ]
    return frame


def _growth(fact: pd.DataFrame, cfg: MartGateConfig) -> pd.DataFrame:
    rows = fact[(fact["followers"] >= cfg.growth_min_followers) & fact["growth_rate_28d"].notna()]
    frame = rows[["platform", "account_id", "metric_date"]].copy()
    frame["metric"] = "growth_rate_28d"
    frame["value"] = rows["growth_rate_28d"].astype("float64")
    frame["expected"] = None
    frame["followers"] = rows["followers"].astype("float64")
    return frame.reset_index(drop=True)


def _anomalies(fact: pd.DataFrame, cfg: MartGateConfig) -> pd.DataFrame:
    # The account's groups by an integer code computed once: grouping on the two string columns
    # factorised them again for each of the 9 group-bys (the same groups, the same rows in the
    # same order, so the same medians and means).
    account = fact.groupby(["platform", "account_id"], sort=False).ngroup()
    parts = []
    for metric in cfg.anomaly_metrics:
        s = fact[["platform", "account_id", "metric_date", metric]].dropna(subset=[metric]).copy()
        if s.empty:
            continue
        s["value"] = s[metric].astype("float64")
        key = account.loc[s.index]
        groups = s["value"].groupby(key)
        s["history"] = groups.transform("size")
        s["expected"] = groups.transform("median")
        s["deviation"] = (s["value"] - s["expected"]).abs()
        deviations = s["deviation"].groupby(key)
        mad = deviations.transform("median")
        mean_ad = deviations.transform("mean")
        # MAD = 0 (mostly constant series): fall back to the mean absolute deviation.
        scale = (mad / 0.6745).where(mad > 0, mean_ad * 1.2533)
        s["robust_z"] = (s["value"] - s["expected"]) / scale.where(scale > 0)
        big_enough = s["deviation"] >= cfg.anomaly_min_abs_deviation.get(metric, 0.0)
        enough_history = s["history"] >= cfg.anomaly_min_history
        s["anomaly_score"] = s["robust_z"].abs().where(big_enough & enough_history, 0.0).fillna(0.0)
        s["metric"] = metric
        parts.append(s[["platform", "account_id", "metric_date", "metric", "value", "expected", "robust_z",
                        "anomaly_score", "history"]])
    if not parts:
        return pd.DataFrame(columns=["platform", "account_id", "metric_date", "metric", "value", "expected",
                                     "robust_z", "anomaly_score", "history"])
    return pd.concat(parts, ignore_index=True)


# The finding's text, built for failing rows only (formatting every row of a 2-year mart is slow).
DESCRIBE = {
    "follower_continuity": lambda r: (f"followers {r.prior:.0f} -> {r.value:.0f} but net flow {r.net:+.0f} "
                                      f"(gap {r.gap:+.0f}, tolerance {r.tolerance:.0f})"),
    "growth_plausibility": lambda r: f"28-day growth {r.value:+.1%} at {r.followers:.0f} followers",
    "anomalies": lambda r: (f"robust z {r.robust_z:+.1f} against the account's median {r.expected:g} "
                            f"({r.history} days)"),
}


def _findings(failure: dict[str, Any], frame: pd.DataFrame, check: str, severity: str, found_at: datetime
              ) -> list[dict[str, Any]]:
    """One finding per unexpected row of a failed expectation. Rows are read as named tuples
    (`itertuples`): `iterrows` built a Series per row, most of the gate's time when the anomaly
    suite flags thousands of rows (6,590 on the demo nightly)."""
    index = [i for i in failure.get("unexpected_index", []) if i in frame.index]
    columns = set(frame.columns)
    column = failure.get("column")
    value_column = "value" if "value" in columns else column if column in columns else None
    metric = column or ",".join(failure.get("columns", []))
    fallback_detail = f"{failure['expectation']} {failure['kwargs']}"
    out = []
    for row in frame.loc[index].itertuples(index=False):
        metric_date = getattr(row, "metric_date", None)
        expected = getattr(row, "expected", None)
        out.append({
            "found_at": found_at, "check_name": check, "severity": severity,
            "platform": _text(getattr(row, "platform", None)), "account_id": _text(getattr(row, "account_id", None)),
            "metric_date": metric_date.date() if metric_date is not None and not pd.isna(metric_date) else None,
            "metric": row.metric if "metric" in columns else metric,
            "value": _number(getattr(row, value_column) if value_column else None),
            "expected": float(expected) if expected is not None and not pd.isna(expected) else None,
            "detail": row.detail if "detail" in columns else DESCRIBE[check](row) if check in DESCRIBE
            else fallback_detail,
        })
    return out


def _number(value: Any) -> float | None:
    """A finding's value as a float; None when missing or not a number."""
    try:
        return float(value) if value is not None and not pd.isna(value) else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _write_findings(con, findings: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    con.register("gate_findings", frame)
    try:
        con.execute("create schema if not exists quality")
        con.execute(
            f"""
            create or replace table {FINDINGS_TABLE} as
            select cast(found_at as timestamptz) as found_at, cast(check_name as varchar) as check_name,
                cast(severity as varchar) as severity, cast(platform as varchar) as platform,
                cast(account_id as varchar) as account_id, cast(metric_date as date) as metric_date,
                cast(metric as varchar) as metric, cast(value as double) as value,
                cast(expected as double) as expected, cast(detail as varchar) as detail
            from gate_findings
            """
        )
    finally:
        con.unregister("gate_findings")


# ---------------------------------------------------------------------------------------------- the gate


def run(settings: Settings, run_id: str, *, as_of: date | None = None, config: MartGateConfig | None = None,
        now: datetime | None = None) -> MartGateResult:
    """Validate the marts; write findings and the validation history; raise on hard failures.

    Args:
        settings: where the warehouse and the Data Docs live.
        run_id: recorded in raw.validation_runs; Data Docs go to `gx_docs/<run_id>/marts/`.
        as_of: the reference day for activity and freshness (default: yesterday, Pacific).
        config: tolerances and thresholds.
        now: the clock that decides which days are still in the future (default: the real one).

    Returns:
        MartGateResult (success True: publish; warnings are in the findings table).

    Raises:
        MartGateError: a hard expectation failed, the fact is missing, or an expectation raised
            (`gate_error=True`). Findings and history are committed before it is raised.
    """
    started = time.perf_counter()
    cfg = config or MartGateConfig()
    as_of = as_of or pacific_today() - timedelta(days=1)
    folder = docs_root(settings.home_abs) / safe_name(run_id) / "marts"
    validated_at = datetime.now(UTC)
    con = connect(settings.warehouse)
    try:
        fact, accounts, expected = _read(con, as_of)
        v = Validator(folder)
        gxe = v.gxe
        frames: dict[str, pd.DataFrame] = {}

        def check(name: str, frame: pd.DataFrame, expectations: list) -> None:
            frames[name] = frame
            v.validate(f"marts.{name}", frame, expectations, keep_index=True)

        check("fct_follower_growth_daily", _counts_as_float(fact), [
            *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("platform", "account_id", "metric_date",
                                                                    "is_estimated")],
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["platform", "account_id", "metric_date"]),
            *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNT_COLUMNS],
        ])
        check("follower_continuity", _continuity(fact, cfg), [
            gxe.ExpectColumnValuesToBeBetween(column="excess", max_value=0),
        ])
        completeness = expected.assign(metric="row", value=None, expected=None,
                                       detail="no row for " + expected["reason"].astype(str))
        check("completeness", completeness, [gxe.ExpectColumnValuesToBeInSet(column="has_row", value_set=[True])])
        check("growth_plausibility", _growth(fact, cfg), [
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=cfg.growth_rate_min,
                                              max_value=cfg.growth_rate_max),
        ])
        freshness = _freshness(fact, accounts, as_of, cfg)
        check("freshness", freshness, [
            gxe.ExpectColumnValuesToBeInSet(column="has_rows", value_set=[True]),
            gxe.ExpectColumnValuesToBeBetween(column="excess_days", max_value=0),
        ])
        check("anomalies", _anomalies(fact, cfg), [
            gxe.ExpectColumnValuesToBeBetween(column="anomaly_score", max_value=cfg.anomaly_z),
        ])

        findings: list[dict[str, Any]] = []
        for failure in v.failures:
            name = failure["suite"].removeprefix("marts.")
            failure["severity"] = "error" if name in HARD_SUITES else "warning"
            findings.extend(_findings(failure, frames[name], name, failure["severity"], validated_at))
        stale_index = sorted({i for f in v.failures if f["suite"] == "marts.freshness"
                              for i in f.get("unexpected_index", [])})
        stale = freshness.loc[[i for i in stale_index if i in freshness.index]]
        result = MartGateResult(
            run_id=run_id, success=not any(f["severity"] == "error" for f in v.failures) and not v.raised,
            rows=len(fact), suites=list(v.runs), failures=v.failures, raised=v.raised,
            stale_accounts=[
                {"platform": r.platform, "account_id": r.account_id, "scope": r.scope,
                 "last_metric_date": None if pd.isna(r.metric_date) else r.metric_date.date().isoformat(),
                 "days_behind": None if pd.isna(r.value) else int(r.value)}
                for r in stale.itertuples()
            ],
            gx_import_seconds=v.import_seconds, validated_at=validated_at,
        )
        for f in findings:
            key = f"{f['check_name']}/{f['severity']}"
            result.findings[key] = result.findings.get(key, 0) + 1
        result.docs_path = write_index(folder, f"mart gate ({run_id})", v.runs, result.to_dict()["failures"],
                                       v.raised)
        result.gx_seconds = time.perf_counter() - started
        result.suites.append(SuiteRun(
            suite="marts.mart_gate", success=result.success, evaluated=sum(s.evaluated for s in v.runs),
            failed=sum(s.failed for s in v.runs), raised=sum(s.raised for s in v.runs), rows=len(fact),
            gx_seconds=result.gx_seconds, docs_path=result.docs_path,
        ))
        with transaction(con):
            _write_findings(con, findings)
            record_validation(con, result)
    finally:
        con.close()

    log.info("mart gate %s: success=%s rows=%d findings=%s gx_seconds=%.2f", run_id, result.success, result.rows,
             result.findings, result.gx_seconds)
    if result.raised:
        raise MartGateError("the gate itself broke, not the data: expectation(s) raised: " + "; ".join(
            f"{r['suite']} {r['expectation']}: {r['exception']}" for r in result.raised), result, gate_error=True,
            repair="none from the command line: this is a bug of the gate (the run's log has the traceback); "
                   "the marts were not judged")
    if not result.success:
        for f in result.hard_failures:
            log.error("mart gate: %s %s %s unexpected=%s accounts=%s", f["suite"], f["expectation"],
                      f.get("column") or "", f.get("unexpected_count"), ",".join(f.get("account_ids", [])[:5]))
        cause, repair = diagnose(findings, result.docs_path, now)
        raise MartGateError(cause, result, repair=repair)
    return result
