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
Data Docs, under `<docs_dir>/<run_id>/<load_id>/`: an `index.html` per batch listing every suite
(result, counts, seconds, each expectation it evaluated) and the findings, plus one static page per
suite that failed or raised, rendered by GX's own renderer (a file context with
`UpdateDataDocsAction` costs ~1.3 s and ~4.6 MB per run). A passing suite gets no page of its own
(it would only repeat its expectations with a tick each): rendering ~30 pages per nightly cost
~0.4 CPU-s per load process, most of it GX's Jinja set-up (the mart gate still renders all pages).

Cost (the gate's contract is unchanged: same suites, same expectations, same outcomes):
- every suite is evaluated first with `BOOLEAN_ONLY`; a suite that failed or raised is evaluated
  again with `COMPLETE` for its report (unexpected rows, samples, accounts), so the common, passing
  case does not pay for unexpected-value lists it never shows;
- day columns are handed to GX as datetime64[ns]: GX's between-check is vectorised only for ns or
  tz-aware datetimes and maps a Python function over every row of any other unit (that alone was
  ~4 s of a two-year Instagram backfill);
- each suite loads its batch once (`Validator._run`; `Batch.validate` loads and fingerprints the
  whole frame a second time).
The GX import (~3 CPU-s, scipy, altair, sqlalchemy come with it) is paid once per process and is
the largest single part of a nightly load now.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion.core.platforms import ALL
from ingestion.extract.landing import safe_name

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # offline: no telemetry attempts

log = logging.getLogger(__name__)
# GX logs ~50 INFO lines per context ("Skipping registering function ...", "Created temporary
# directory ..."), some 200 a nightly run, none of them about the data: only its warnings and
# errors reach our logs. Our own gate results are logged by this module.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

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
# Values shown per failed expectation.
SAMPLE_ROWS = 5
_LIST_KWARG_LIMIT = 25

# Failures are reported with every unexpected row index and sample values (COMPLETE). Computing
# those lists costs GX a second and third pass over every column of every expectation, also when
# nothing is unexpected, so a suite is first evaluated with BOOLEAN_ONLY (the same expectations,
# the same unexpected counts decide success) and only a suite that failed is evaluated again with
# COMPLETE for its report (`Validator.validate`).
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": SAMPLE_ROWS,
    "return_unexpected_index_query": False,
}
FIRST_PASS_FORMAT = {"result_format": "BOOLEAN_ONLY"}


class GateError(RuntimeError):
    """An expectation raised an exception: the gate itself is broken, not the data.

    `result` holds the whole validation (with `raised` filled in) so the caller can record it.
    """

    def __init__(self, message: str, result: GateResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass
class SuiteRun:
    """One GX validation: one row of raw.validation_runs."""

    suite: str
    success: bool
    evaluated: int
    failed: int
    raised: int
    rows: int
    gx_seconds: float
    docs_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return dict(self.__dict__)


@dataclass
class GateResult:
    """Outcome of the load gate on one platform batch (JSON-able through `to_dict`)."""

    run_id: str
    load_id: str | None
    platform: str
    success: bool
    rows: int
    suites: list[SuiteRun] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    raised: list[dict[str, Any]] = field(default_factory=list)
    gx_seconds: float = 0.0
    gx_import_seconds: float = 0.0
    docs_path: str | None = None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    summary_suite: str = ""

    @property
    def failed_accounts(self) -> list[str]:
        """Every account named by a failed expectation."""
        return sorted({a for f in self.failures for a in f.get("account_ids", [])})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for quarantine files, run reports and XCom."""
        return {
            "run_id": self.run_id, "load_id": self.load_id, "platform": self.platform, "success": self.success,
            "rows": self.rows, "failed_accounts": self.failed_accounts, "failures": self.failures,
            "raised": self.raised, "suites": [s.to_dict() for s in self.suites],
            "gx_seconds": round(self.gx_seconds, 3), "gx_import_seconds": round(self.gx_import_seconds, 3),
            "docs_path": self.docs_path, "validated_at": self.validated_at.isoformat(),
        }

    def describe(self) -> str:
        """One line per failure, for logs and the CLI."""
        lines = [f"{self.summary_suite or self.platform}: {'passed' if self.success else 'FAILED'}"
                 f" ({self.rows} rows, {len(self.failures)} failed, {len(self.raised)} raised)"]
        for f in self.failures:
            accounts = ",".join(f.get("account_ids", [])[:5]) or "-"
            lines.append(f"  {f['suite']}: {f['expectation']} {f.get('column') or f.get('columns') or ''} "
                         f"unexpected={f.get('unexpected_count')} accounts={accounts}")
        for r in self.raised:
            lines.append(f"  {r['suite']}: {r['expectation']} RAISED {r['exception']}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------- GX engine

_GX: dict[str, Any] = {}


def _import_gx() -> float:
    """Import GX once per process; returns the seconds this call spent importing (0 when cached)."""
    if "gx" in _GX:
        return 0.0
    started = time.perf_counter()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _GX.update(gx=gx, gxe=gxe)
    return time.perf_counter() - started


class Validator:
    """An ephemeral GX context with one pandas asset; validates suites and renders Data Docs.

    Shared by the load gate and the mart gate (`ingestion.gates.mart_gate`). `pages`: "all" renders a
    GX page for every suite; "failed" only for suites that failed or raised (the others are listed
    with their expectations in the index, `write_index(..., checks=validator.checks)`).
    """

    def __init__(self, docs_folder: Path | None = None, pages: str = "all"):
        if pages not in ("all", "failed"):
            raise ValueError(f"pages must be 'all' or 'failed', not {pages!r}")
        self.import_seconds = _import_gx()
        gx = _GX["gx"]
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.validator.v1_validator import Validator as V1Validator

        self.gx, self.gxe, self.validator_class = gx, _GX["gxe"], V1Validator
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.batch_definition = (
            self.context.data_sources.add_pandas("socialpulse")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole")
        )
        self.docs_folder = docs_folder
        self.pages = pages
        self.checks: dict[str, list[str]] = {}  # suite -> its expectations, for the index
        self.runs: list[SuiteRun] = []
        self.failures: list[dict[str, Any]] = []
        self.raised: list[dict[str, Any]] = []

    def _run(self, suite, frame: pd.DataFrame, result_format: dict[str, Any]):
        """One GX validation of `frame`: what `batch_definition.get_batch(...).validate(suite)` does,
        minus the first of its two batch loads (each fingerprints the whole frame with an md5 of
        `hash_pandas_object`)."""
        validator = self.validator_class(batch_definition=self.batch_definition, result_format=result_format,
                                         batch_parameters={"dataframe": frame})
        return validator.validate_expectation_suite(suite)

    def validate(self, name: str, frame: pd.DataFrame, expectations: list, *, context: dict[str, Any] | None = None,
                 keep_index: bool = False) -> list[dict[str, Any]]:
        """Validate `frame` against the expectations; returns this suite's failures.

        Failures carry the unexpected rows of `frame` (accounts and sample rows; with `keep_index`
        also every unexpected index label under "unexpected_index"); an expectation that raised
        goes to `self.raised`.
        """
        started = time.perf_counter()
        suite = self.gx.ExpectationSuite(name=name, expectations=expectations)
        result = self._run(suite, frame, FIRST_PASS_FORMAT)
        if not result.success:  # failed or raised: evaluate again with the full report
            result = self._run(suite, frame, RESULT_FORMAT)
        failures, raised = [], []
        for item in result.results:
            config = item.expectation_config
            base = {"suite": name, "expectation": config.type, **_describe_kwargs(config.kwargs), **(context or {})}
            exception = _raised_exception(item.exception_info)
            if exception is not None:
                raised.append({**base, "exception": exception[:500]})
            elif not item.success:
                failure = {**base, **_unexpected(frame, item.result or {})}
                if keep_index:
                    failure["unexpected_index"] = list((item.result or {}).get("unexpected_index_list") or [])
                failures.append(failure)
        docs_path = None
        self.checks[name] = [_check_label(item.expectation_config) for item in result.results]
        if self.docs_folder is not None and (self.pages == "all" or failures or raised):
            docs_path = _render(result, self.docs_folder / f"{safe_name(name)}.html")
        self.runs.append(SuiteRun(
            suite=name, success=not failures and not raised, evaluated=len(result.results),
            failed=len(failures), raised=len(raised), rows=len(frame),
            gx_seconds=time.perf_counter() - started, docs_path=docs_path,
        ))
        self.failures.extend(failures)
        self.raised.extend(raised)
        return failures


def _check_label(config: Any) -> str:
    """`expect_x(column)` (or columns) of one expectation, for the Data Docs index."""
    kwargs = config.kwargs
    columns = kwargs.get("column") or kwargs.get("column_list") or [
        c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
    return f"{config.type}({', '.join(columns) if isinstance(columns, list) else columns})"


def _raised_exception(info: Any) -> str | None:
    """The message of an expectation that raised (GX nests it per metric when a metric failed)."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    if isinstance(info, dict):
        messages = [str(v.get("exception_message")) for v in info.values()
                    if isinstance(v, dict) and v.get("raised_exception")]
        return "; ".join(messages) if messages else None
    return None


def _describe_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The expectation's column(s) and its other arguments (long value sets shortened)."""
    out: dict[str, Any] = {}
    if "column" in kwargs:
        out["column"] = kwargs["column"]
    if "column_A" in kwargs:
        out["columns"] = [kwargs["column_A"], kwargs.get("column_B")]
    if "column_list" in kwargs:
        out["columns"] = list(kwargs["column_list"])
    args: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in ("batch_id", "result_format", "column", "column_A", "column_B", "column_list"):
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(map(str, value))
            args[key] = items if len(items) <= _LIST_KWARG_LIMIT else [*items[:_LIST_KWARG_LIMIT], f"... {len(items)}"]
        else:
            args[key] = _jsonable(value)
    out["kwargs"] = args
    return out


def _unexpected(frame: pd.DataFrame, result: dict[str, Any]) -> dict[str, Any]:
    index = list(result.get("unexpected_index_list") or [])
    out: dict[str, Any] = {
        "unexpected_count": result.get("unexpected_count"),
        "account_ids": [],
        "sample_rows": [],
    }
    if "observed_value" in result:
        out["observed_value"] = _jsonable(result["observed_value"])
    if result.get("partial_unexpected_list"):
        out["sample_values"] = [_jsonable(v) for v in result["partial_unexpected_list"][:SAMPLE_ROWS]]
    index = [i for i in index if i in frame.index]
    if index:
        rows = frame.loc[index]
        if "account_id" in rows.columns:
            out["account_ids"] = sorted({str(a) for a in rows["account_id"] if not _isnull(a)})
        out["sample_rows"] = [
            {"row": _jsonable(i), **{k: _jsonable(v) for k, v in rec.items() if not str(k).startswith("_")}}
            for i, rec in zip(index[:SAMPLE_ROWS], rows.head(SAMPLE_ROWS).to_dict("records"), strict=False)
        ]
    return out


def _isnull(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or (not isinstance(value, (str, bytes)) and _isnull(value)):
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _render(result, path: Path) -> str | None:
    """One suite's validation result as a static GX Data Docs page."""
    try:
        if "view" not in _GX:  # building the Jinja environment costs ~60 ms: once per process
            from great_expectations.render.renderer import ValidationResultsPageRenderer
            from great_expectations.render.view import DefaultJinjaPageView

            _GX.update(view=DefaultJinjaPageView(), renderer=ValidationResultsPageRenderer())
        page = _GX["view"].render(_GX["renderer"].render(result))
    except Exception as exc:  # noqa: BLE001 - docs are a report, never a reason to fail a load
        log.warning("could not render data docs for %s: %s", path.name, exc)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return str(path)


def write_index(folder: Path, title: str, runs: Iterable[SuiteRun], failures: list[dict[str, Any]],
                raised: list[dict[str, Any]], checks: dict[str, list[str]] | None = None) -> str:
    """A small index page linking a batch's suite pages, with the failures listed and, when
    `checks` is given, every suite's expectations (all that a passing suite's page would show)."""
    def link(run: SuiteRun) -> str:
        name = html.escape(run.suite)
        return f'<a href="{html.escape(Path(run.docs_path).name)}">{name}</a>' if run.docs_path else name

    def listed(run: SuiteRun) -> str:
        return f"<td class='checks'>{html.escape('; '.join(checks.get(run.suite, [])))}</td>" if checks else ""

    rows = "".join(
        f"<tr><td>{link(r)}</td><td class='{'ok' if r.success else 'bad'}'>{'passed' if r.success else 'FAILED'}"
        f"</td><td>{r.evaluated}</td><td>{r.failed}</td><td>{r.raised}</td><td>{r.rows}</td>"
        f"<td>{r.gx_seconds:.3f}</td>{listed(r)}</tr>"
        for r in runs
    )
    items = "".join(
        f"<li><b>{html.escape(f['suite'])}</b>: {html.escape(f['expectation'])} "
        f"{html.escape(json.dumps(f.get('column') or f.get('columns') or ''))} "
        f"unexpected={f.get('unexpected_count')} accounts={html.escape(', '.join(f.get('account_ids', [])[:20]))}</li>"
        for f in failures
    ) + "".join(
        f"<li><b>{html.escape(r['suite'])}</b>: {html.escape(r['expectation'])} RAISED "
        f"{html.escape(r['exception'])}</li>" for r in raised
    )
    page = (
        f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px}.ok{color:green}.bad{color:#b00}"
        ".checks{font-size:small}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><table><tr><th>suite</th><th>result</th><th>evaluated</th>"
        f"<th>failed</th><th>raised</th><th>rows</th><th>gx s</th>{'<th>expectations</th>' if checks else ''}"
        f"</tr>{rows}</table>"
        f"<h2>Findings</h2><ul>{items or '<li>none</li>'}</ul></body></html>"
    )
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return str(index)


def docs_root(home: Path) -> Path:
    """Where Data Docs live: `$SOCIALPULSE_HOME/gx_docs` (one folder per run below it)."""
    return home / "gx_docs"


# ----------------------------------------------------------------------------------------- load gate


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
        for entity, rows in frame.groupby("_entity", sort=True):  # one entity's rows in memory at a time
            v.validate(f"{prefix}.{entity}", rows, _entity_expectations(
                gxe, str(entity), first_day=first_day, last_day=last_day))
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


# ----------------------------------------------------------------------------------------- history


def record_validation(con, result) -> int:
    """Insert one raw.validation_runs row per suite of `result` (GateResult or MartGateResult).

    One INSERT statement: inside the caller's transaction when there is one (the load commit),
    else its own small transaction (quarantine, gate error, mart gate).
    """
    rows = [
        (result.validated_at, result.run_id, result.load_id, s.suite, bool(s.success), int(s.evaluated),
         int(s.failed), int(s.raised), int(s.rows), float(s.gx_seconds), s.docs_path)
        for s in result.suites
    ]
    if not rows:
        return 0
    placeholders = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
    con.execute(
        "insert into raw.validation_runs (validated_at, run_id, load_id, suite, success, evaluated, failed, "
        f"raised, rows, gx_seconds, docs_path) values {placeholders}",
        [value for row in rows for value in row],
    )
    return len(rows)
