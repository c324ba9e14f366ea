"""The load gate: Great Expectations suites on every parsed batch, before anything is committed.

GX validates pandas DataFrames (its SQL datasource does not work on DuckDB, STACK_NOTES.md §3.2).
A platform batch is split into raw entities; each row lands in exactly one entity suite:

| suite                                | rows                             | checks                              |
|--------------------------------------|----------------------------------|-------------------------------------|
| `raw_<p>.observations_schema`        | one per expected/actual column   | columns present, coarse types       |
| `raw_<p>.observations`               | every observation                | keys not null, batch grain unique,  |
|                                      |                                  | platform, planned accounts only,    |
|                                      |                                  | metric names known to the registry  |
| `raw_<p>.account_insights`           | account insights (day/week/28d)  | counts >= 0, dates inside window    |
| `raw_<p>.account_snapshots`          | account node fields              | counts >= 0, dated the day before   |
|                                      |                                  | the observation (Pacific)           |
| `raw_<p>.demographics`               | lifetime breakdown counts        | counts >= 0, breakdown present,     |
|                                      |                                  | dated by end_time / observation     |
| `raw_<p>.audience_shares`            | percentages (`viewerPercentage`) | 0-100, dates inside window          |
| `raw_<p>.audience_share_sums`        | per account/day/metric/dimension | shares sum to <= 100 (+0.5 rounding)|
| `raw_<p>.content_metrics`            | post/media/video lifetime values | counts >= 0, dated by observation   |
| `raw_<p>.objects_schema`, `.objects` | raw.objects rows                 | keys not null, one row per object,  |
|                                      |                                  | planned accounts, caption <= 500    |
| `raw_<p>.plan_coverage`              | one per account fetched OK       | produced at least one row           |

Three outcomes are kept apart: the batch passed; the batch failed an expectation (bad data: the
caller quarantines it); an expectation raised (a broken gate: `GateError`, never counted as pass or
as bad data). Every validation is recorded in `raw.validation_runs` (`record_validation`), including
failures, plus one summary row per batch (`raw_<p>.load_gate`, gx_seconds including the GX import).

The engine (Validator, results, Data Docs, history) is `ingestion.gates.quality`.
"""



from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from ingestion.core.platforms import ALL
from ingestion.extract.landing import safe_name
from ingestion.gates.quality import GateError, GateResult, SuiteRun, Validator, write_index

log = logging.getLogger(__name__)

OBSERVATION_COLUMNS = (
    "response_id", "platform", "account_id", "object_type", "object_id", "source", "metric_name", "period",
    "metric_type", "dimension", "dimension_value", "metric_date", "end_time", "value", "observed_at",
)
OBSERVATION_KEY = (
    "platform", "account_id", "object_type", "object_id", "source", "metric_name", "period", "metric_type", "dimension",
    "dimension_value", "metric_date",
)
OBJECT_COLUMNS = (
    "response_id", "platform", "account_id", "object_type", "object_id", "published_at", "content_type",
    "product_type", "permalink", "caption", "observed_at",
)
# raw.objects holds one row per (load, object).
OBJECT_KEY = ("platform", "account_id", "object_type", "object_id")
PLATFORMS = ALL
CONTENT_OBJECT_TYPES = ("post", "media", "video")

# Column kinds the loader hands over (see `_kind`); "empty" (all null) is accepted for any column,
# the not-null expectations catch the columns that must have values.
OBSERVATION_SCHEMA: dict[str, tuple[str, ...]] = {
    **{c: ("string",) for c in OBSERVATION_KEY if c != "metric_date"},
    "response_id": ("string",),
    "metric_date": ("date",),
    "end_time": ("timestamptz",),
    "value": ("number",),
    "observed_at": ("timestamptz",),
}
OBJECT_SCHEMA: dict[str, tuple[str, ...]] = {
    **{c: ("string",) for c in OBJECT_COLUMNS},
    # Parsed as text by the platform modules; the loader may convert them before the insert.
    "published_at": ("timestamptz", "string"),
    "observed_at": ("timestamptz", "string"),
}

# Lifetime breakdowns of the audience (counts) and audience percentages (0-100 each; the shares of
# one breakdown sum to at most 100, plus a rounding tolerance).
DEMOGRAPHIC_METRICS = frozenset({
    "page_follows_city", "page_follows_country", "follower_demographics", "engaged_audience_demographics",
})
PERCENT_METRICS = frozenset({"viewerPercentage"})
SHARE_SUM_TOLERANCE = 0.5
# The columns the entity suites (and the audience share sums) read; see gate_batch.
ENTITY_SUITE_COLUMNS = ("account_id", "object_id", "metric_name", "period", "metric_type", "dimension", "source",
                        "metric_date", "value", "_expected_day")


def _kind(series: pd.Series) -> str:
    """A coarse type of a column: string | number | boolean | date | timestamptz | empty | other."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "date"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("string", "empty", "date", "boolean"):
        return inferred
    if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
        return "number"
    if inferred == "datetime":
        first = series.dropna().iloc[0]
        return "timestamptz" if getattr(first, "tzinfo", None) is not None else "date"
    return inferred


def _schema_frame(df: pd.DataFrame, schema: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    rows = []
    for column, kinds in schema.items():
        actual = _kind(df[column]) if column in df.columns else "missing"
        rows.append({"column_name": column, "expected": "|".join(kinds), "actual": actual,
                     "matches": actual in kinds or actual == "empty"})
    for column in df.columns:
        if column not in schema:
            rows.append({"column_name": str(column), "expected": "absent", "actual": _kind(df[column]),
                         "matches": False})
    return pd.DataFrame(rows)


def _classify(df: pd.DataFrame) -> pd.Series:
    """The raw entity of each observation (first match wins, so every row lands in one suite)."""
    entity = pd.Series("account_insights", index=df.index, dtype=object)
    entity[df["source"] == "node"] = "account_snapshots"
    entity[(df["object_type"] == "account") & (df["period"] == "lifetime")] = "demographics"
    entity[df["metric_name"].isin(DEMOGRAPHIC_METRICS)] = "demographics"
    entity[df["metric_name"].isin(PERCENT_METRICS)] = "audience_shares"
    entity[df["object_type"] != "account"] = "content_metrics"
    return entity


def _day_column(values: pd.Series) -> pd.Series:
    """Days as datetime64[ns] where the range allows it.

    GX's `column_values.between` compares datetime64[ns] (and tz-aware) columns vectorised, but
    maps a Python function over every value of any other datetime unit (~7 us per row: 4 s for
    the 580,000 insight rows of a two-year Instagram backfill). Same values, same results; a day
    outside the ns range (year > 2262, only from a broken parser) keeps microseconds.
    """
    days = pd.to_datetime(values)
    try:
        return days.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return days.astype("datetime64[us]")


def _pacific_day_before(ts: pd.Series) -> pd.Series:
    local = pd.to_datetime(ts, utc=True).dt.tz_convert("America/Los_Angeles")
    return _day_column(local.dt.tz_localize(None).dt.normalize() - pd.Timedelta(days=1))


def _expected_day(frame: pd.DataFrame) -> pd.Series:
    """The day a snapshot-like value must carry: the Pacific day its Meta `end_time` closes, else
    (no end_time: node fields, post/media lifetime totals) the Pacific day before the observation."""
    return _pacific_day_before(frame["end_time"]).fillna(_pacific_day_before(frame["observed_at"]))


def gate_batch(
    observations: pd.DataFrame,
    objects: pd.DataFrame | None,
    *,
    platform: str,
    known_metrics: set[str],
    first_day: date,
    last_day: date,
    expected_accounts: set[str],
    run_id: str,
    load_id: str,
    docs_dir: Path | None,
) -> GateResult:
    """Validate one platform batch before commit.

    Args:
        observations: the parsed observations (`OBSERVATION_COLUMNS`).
        objects: content metadata rows (`OBJECT_COLUMNS`), or None when the batch has none.
        platform: the batch's platform; every row must belong to it.
        known_metrics: metric and node-field names the metric registry knows for the platform.
        first_day, last_day: the requested window (inclusive platform days) of the daily insights.
            Snapshot-like values (node fields, lifetime metrics) must be dated the Pacific day
            before their observation instead.
        expected_accounts: accounts planned and fetched OK; each must have produced rows, and no
            other account may appear.
        run_id, load_id: recorded with every validation.
        docs_dir: Data Docs root (`$SOCIALPULSE_HOME/gx_docs`); pages go to
            `<docs_dir>/<run_id>/<load_id>/`. None: no pages.

    Returns:
        GateResult; `success` is False when any expectation failed (the caller quarantines).

    Raises:
        GateError: an expectation raised instead of evaluating (carries the GateResult).
    """
    started = time.perf_counter()
    validated_at = datetime.now(UTC)
    folder = docs_dir / safe_name(run_id) / safe_name(load_id) if docs_dir is not None else None
    v = Validator(folder, pages="failed")
    gxe = v.gxe
    prefix = f"raw_{platform}"
    obs = observations.reset_index(drop=True)
    expected = sorted(map(str, expected_accounts))
    metrics = sorted(map(str, known_metrics))

    schema = _schema_frame(obs, OBSERVATION_SCHEMA)
    schema_ok = not v.validate(f"{prefix}.observations_schema", schema, [
        gxe.ExpectColumnValuesToBeInSet(column="matches", value_set=[True]),
    ])
    shares: pd.DataFrame | None = None
    insight_counts = pd.Series(dtype=int)
    if schema_ok:
        frame = obs.copy(deep=False)  # copy-on-write: the added columns never reach the caller's frame
        frame["metric_date"] = _day_column(frame["metric_date"])
        frame["_entity"] = _classify(frame) if len(frame) else pd.Series(dtype=object)
        frame["_expected_day"] = _expected_day(frame) if len(frame) else frame["metric_date"]
        v.validate(f"{prefix}.observations", frame, _observation_expectations(
            gxe, platform=platform, metrics=metrics, accounts=expected))
        # One entity's rows in memory at a time, and only the columns its suite reads: the group is
        # a copy, and a whole-row copy of a two-year backfill's insights was the load's peak RSS.
        # A failure's sample rows still show whole rows (same index labels in `frame`).
        for entity, rows in frame.groupby("_entity", sort=True)[list(ENTITY_SUITE_COLUMNS)]:
            v.validate(f"{prefix}.{entity}", rows, _entity_expectations(
                gxe, str(entity), first_day=first_day, last_day=last_day), report_rows=frame)
            if entity == "account_insights":
                insight_counts = rows.groupby("account_id").size()
            elif entity == "audience_shares":
                shares = rows
        del frame
        if shares is not None:
            sums = (shares.groupby(["account_id", "metric_date", "metric_name", "dimension"], as_index=False)
                    .agg(share_sum=("value", "sum"), shares=("value", "size")))
            v.validate(f"{prefix}.audience_share_sums", sums, [
                gxe.ExpectColumnValuesToBeBetween(column="share_sum", min_value=0,
                                                  max_value=100 + SHARE_SUM_TOLERANCE),
            ])

    if objects is not None:
        obj = objects.reset_index(drop=True)
        obj_schema = _schema_frame(obj, OBJECT_SCHEMA)
        if not v.validate(f"{prefix}.objects_schema", obj_schema, [
            gxe.ExpectColumnValuesToBeInSet(column="matches", value_set=[True]),
        ]) and len(obj):
            v.validate(f"{prefix}.objects", obj, _object_expectations(gxe, platform, expected))

    # Row counts against the plan: every account fetched OK has rows; an empty one is a finding.
    counts = obs.groupby("account_id").size() if "account_id" in obs.columns and len(obs) else pd.Series(dtype=int)
    plan = pd.DataFrame({"account_id": expected})
    plan["observations"] = plan["account_id"].map(counts).fillna(0).astype("int64")
    plan["account_insight_rows"] = plan["account_id"].map(insight_counts).fillna(0).astype("int64")
    v.validate(f"{prefix}.plan_coverage", plan, [
        gxe.ExpectColumnValuesToBeBetween(column="observations", min_value=1),
    ])

    result = GateResult(
        run_id=run_id, load_id=load_id, platform=platform, success=not v.failures and not v.raised,
        rows=len(obs), suites=list(v.runs), failures=v.failures, raised=v.raised,
        gx_import_seconds=v.import_seconds, validated_at=validated_at, summary_suite=f"{prefix}.load_gate",
    )
    if folder is not None:
        result.docs_path = write_index(folder, f"load gate {load_id} ({run_id})", v.runs, v.failures, v.raised,
                                       checks=v.checks)
    result.gx_seconds = time.perf_counter() - started
    result.suites.append(SuiteRun(
        suite=result.summary_suite, success=result.success, evaluated=sum(s.evaluated for s in v.runs),
        failed=sum(s.failed for s in v.runs), raised=sum(s.raised for s in v.runs), rows=len(obs),
        gx_seconds=result.gx_seconds, docs_path=result.docs_path,
    ))
    log.info("load gate %s: success=%s rows=%d suites=%d gx_seconds=%.2f (import %.2f)", load_id, result.success,
             result.rows, len(v.runs), result.gx_seconds, result.gx_import_seconds)
    if v.raised:
        raise GateError(f"load gate {load_id}: {len(v.raised)} expectation(s) raised: "
                        + "; ".join(f"{r['suite']} {r['expectation']}: {r['exception']}" for r in v.raised),
                        result)
    return result


def _observation_expectations(gxe, *, platform: str, metrics: list[str], accounts: list[str]) -> list:
    """What every observation must satisfy, whatever its entity: keys, grain, platform, plan, registry."""
    not_null = [*OBSERVATION_KEY, "response_id", "observed_at", "value"]
    return [
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in not_null],
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(OBSERVATION_KEY)),
        gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=[platform]),
        gxe.ExpectColumnValuesToBeInSet(column="account_id", value_set=accounts),
        gxe.ExpectColumnValuesToBeInSet(column="metric_name", value_set=metrics),
        gxe.ExpectColumnValuesToBeInSet(column="object_type", value_set=["account", *CONTENT_OBJECT_TYPES]),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["insights", "node"]),
    ]


def _entity_expectations(gxe, entity: str, *, first_day: date, last_day: date) -> list:
    """The suite of one raw entity: its value ranges, dates and shape."""
    window = gxe.ExpectColumnValuesToBeBetween(
        column="metric_date", min_value=pd.Timestamp(first_day), max_value=pd.Timestamp(last_day))
    snapshot_dated = gxe.ExpectColumnPairValuesToBeEqual(column_A="metric_date", column_B="_expected_day")
    own_account = gxe.ExpectColumnPairValuesToBeEqual(column_A="object_id", column_B="account_id")
    counts = gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0)
    has_breakdown = gxe.ExpectColumnValueLengthsToBeBetween(column="dimension", min_value=1)
    if entity == "account_insights":
        return [own_account, counts, window,
                gxe.ExpectColumnValuesToBeInSet(column="period", value_set=["day", "week", "days_28"]),
                gxe.ExpectColumnValuesToBeInSet(column="metric_type", value_set=["time_series", "total_value"])]
    if entity == "account_snapshots":
        return [own_account, counts, snapshot_dated,
                gxe.ExpectColumnValuesToBeInSet(column="period", value_set=["snapshot"]),
                gxe.ExpectColumnValuesToBeInSet(column="metric_type", value_set=["node"]),
                gxe.ExpectColumnValuesToBeInSet(column="dimension", value_set=[""])]
    if entity == "demographics":
        return [own_account, counts, snapshot_dated, has_breakdown,
                gxe.ExpectColumnValuesToBeInSet(column="source", value_set=["insights"]),
                gxe.ExpectColumnValuesToBeInSet(column="period", value_set=["lifetime"])]
    if entity == "audience_shares":
        return [own_account, window, has_breakdown,
                gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0, max_value=100)]
    if entity == "content_metrics":
        return [counts, snapshot_dated,
                gxe.ExpectColumnValuesToBeInSet(column="period", value_set=["lifetime", "snapshot"])]
    raise ValueError(f"unknown raw entity {entity!r}")


def _object_expectations(gxe, platform: str, accounts: list[str]) -> list:
    return [
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("response_id", *OBJECT_KEY, "observed_at")],
        gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=[platform]),
        gxe.ExpectColumnValuesToBeInSet(column="account_id", value_set=accounts),
        gxe.ExpectColumnValuesToBeInSet(column="object_type", value_set=list(CONTENT_OBJECT_TYPES)),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(OBJECT_KEY)),
        gxe.ExpectColumnValueLengthsToBeBetween(column="caption", max_value=500),
    ]
