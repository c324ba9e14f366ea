"""The load gate: Great Expectations checks on every parsed batch, before anything is committed.

GX validates a pandas DataFrame (its SQL datasource does not work on DuckDB, STACK_NOTES.md §3.2).
Three outcomes are kept apart: the batch passed; the batch failed an expectation (bad data, the
batch is quarantined); an expectation raised (a broken gate, reported as an error of the gate and
never counted as pass or as bad data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # offline: no telemetry attempts

OBSERVATION_COLUMNS = (
    "response_id", "platform", "account_id", "object_type", "object_id", "source", "metric_name", "period",
    "metric_type", "dimension", "dimension_value", "metric_date", "end_time", "value", "observed_at",
)
OBSERVATION_KEY = (
    "platform", "account_id", "object_type", "object_id", "source", "metric_name", "period", "metric_type", "dimension",
    "dimension_value", "metric_date",
)
PLATFORMS = ("facebook", "instagram", "youtube", "snapchat")


class GateError(RuntimeError):
    """An expectation raised an exception: the gate itself is broken, not the data."""


@dataclass
class GateResult:
    """Outcome of one validation, JSON-able through `to_dict`."""

    suite: str
    success: bool
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for quarantine files and run reports."""
        return {"suite": self.suite, "success": self.success, "rows": self.rows, "failures": self.failures}


def observation_suite(
    name: str, known_metrics: set[str], first_day: date, last_day: date
):  # -> gx.ExpectationSuite (imported lazily: GX costs ~2 s to import)
    """Expectations for a batch of parsed observations of one platform."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=list(OBSERVATION_COLUMNS), exact_match=True),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in
              ("response_id", "platform", "account_id", "metric_name", "metric_date", "value", "observed_at")],
            gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=list(PLATFORMS)),
            gxe.ExpectColumnValuesToBeInSet(column="metric_name", value_set=sorted(known_metrics)),
            # Every metric we request today is a count; rates and shares get their own suites.
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(
                column="metric_date", min_value=pd.Timestamp(first_day), max_value=pd.Timestamp(last_day)
            ),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(OBSERVATION_KEY)),
        ],
    )


def validate(df: pd.DataFrame, suite) -> GateResult:
    """Run a suite on a DataFrame with an ephemeral GX context.

    Raises:
        GateError: an expectation raised instead of evaluating.
    """
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("load_gate")
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    failures, broken = [], []
    for r in result.results:
        config = r.expectation_config
        info = {"expectation": config.type, "kwargs": {k: v for k, v in config.kwargs.items() if k != "batch_id"}}
        if r.exception_info and r.exception_info.get("raised_exception"):
            broken.append({**info, "exception": str(r.exception_info.get("exception_message"))[:500]})
        elif not r.success:
            res = r.result or {}
            info["unexpected_count"] = res.get("unexpected_count")
            info["sample"] = [str(v) for v in (res.get("partial_unexpected_list") or [])[:5]]
            failures.append(info)
    if broken:
        raise GateError(f"suite {suite.name}: {len(broken)} expectation(s) raised: {broken}")
    return GateResult(suite=suite.name, success=not failures, rows=len(df), failures=failures)
