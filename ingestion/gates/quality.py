"""The Great Expectations engine shared by both gates: suites run on pandas frames, results, Data Docs.

GX validates pandas DataFrames (its SQL datasource does not work on DuckDB, STACK_NOTES.md §3.2).
The load gate (`ingestion.gates.load_gate`) and the mart gate (`ingestion.gates.mart_gate`) build
their suites and hand them to `Validator`; this module runs them, keeps the three outcomes apart
(passed; failed an expectation; an expectation raised: `GateError`), writes the Data Docs and
records every validation in `raw.validation_runs` (`record_validation`).
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
  whole frame a second time), and GX's batch fingerprint is switched off (`_import_gx`).
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

from ingestion.extract.landing import safe_name

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # offline: no telemetry attempts

log = logging.getLogger(__name__)
# GX logs ~50 INFO lines per context ("Skipping registering function ...", "Created temporary
# directory ..."), some 200 a nightly run, none of them about the data: only its warnings and
# errors reach our logs. Our own gate results are logged by this module.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

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


@dataclass(kw_only=True)
class GxOutcome:
    """What a gate run (load gate or mart gate) records of its GX validations, whatever it checked."""

    suites: list[SuiteRun] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    raised: list[dict[str, Any]] = field(default_factory=list)
    gx_seconds: float = 0.0
    gx_import_seconds: float = 0.0
    docs_path: str | None = None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def timing_dict(self) -> dict[str, Any]:
        """The GX seconds, data docs and validation time: the last keys of a gate result's `to_dict`."""
        return {"gx_seconds": round(self.gx_seconds, 3), "gx_import_seconds": round(self.gx_import_seconds, 3),
                "docs_path": self.docs_path, "validated_at": self.validated_at.isoformat()}


@dataclass
class GateResult(GxOutcome):
    """Outcome of the load gate on one platform batch (JSON-able through `to_dict`)."""

    run_id: str
    load_id: str | None
    platform: str
    success: bool
    rows: int
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
            "raised": self.raised, "suites": [s.to_dict() for s in self.suites], **self.timing_dict(),
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
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch it loads (an md5 over `hash_pandas_object` of the whole
    # frame) for a marker in the result's metadata that nothing here reads: 1.2 s of a two-year
    # backfill's load, ~0.05-0.1 s of a nightly's load and mart gate (issue 21). A threshold of 0 is
    # GX's own switch for frames it deems too large to hash; the validation itself is unchanged.
    pandas_execution_engine.HASH_THRESHOLD = 0
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
                 keep_index: bool = False, report_rows: pd.DataFrame | None = None) -> list[dict[str, Any]]:
        """Validate `frame` against the expectations; returns this suite's failures.

        Failures carry the unexpected rows of `frame` (accounts and sample rows; with `keep_index`
        also every unexpected index label under "unexpected_index"); an expectation that raised
        goes to `self.raised`. `report_rows`: a wider frame with the same index labels to take the
        sample rows from, when `frame` holds only the columns the expectations read.
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
                failure = {**base, **_unexpected(frame if report_rows is None else report_rows, item.result or {})}
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
