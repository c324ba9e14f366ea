"""Run the dbt project: one `dbt build` per transform (models and tests in one process).

One process, not one per model: per-model dbt processes cost 5-10x more and fight over the DuckDB
lock (STACK_NOTES.md §2.8-2.9). dbt threads inside one process share one DuckDB connection safely.
Per-model results are read back from `run_results.json` for the task log and asset events.

dbt's own output (some 370 lines a build) is detail for a log, not for a person watching a run:
by default each line goes to this module's logger at INFO, without colour codes, so the CLI files
it in its log under $SOCIALPULSE_HOME/logs/ and Airflow in the task log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.core.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

log = logging.getLogger(__name__)


def _log_line(line: str) -> None:
    log.info("dbt: %s", line)


class DbtBuildError(RuntimeError):
    """`dbt build` failed; the message lists the failed nodes."""


@dataclass
class DbtResult:
    """Per-node outcome of one dbt invocation."""

    returncode: int
    elapsed_s: float
    nodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Nodes that errored or whose tests failed."""
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]

    @property
    def models(self) -> list[str]:
        """Unique ids of models that were built successfully."""
        return [n["unique_id"] for n in self.nodes if n["unique_id"].startswith("model.") and n["status"] == "success"]


def _dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt(settings: Settings, *args: str, log=_log_line) -> DbtResult:
    """Run a dbt command against the warehouse; streams dbt's log lines to `log` (default: this
    module's logger)."""
    target = settings.home_abs / "dbt_target"
    env = {
        **os.environ,
        "SOCIALPULSE_WAREHOUSE": str(settings.warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(settings.home_abs / "dbt_logs"),
        "DBT_USE_COLORS": "false",  # lines go to log files, where colour codes are noise
    }
    cmd = [_dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        log(line.rstrip())
    returncode = proc.wait()
    results_path = target / "run_results.json"
    nodes, elapsed = [], 0.0
    if results_path.exists():
        data = json.loads(results_path.read_text(encoding="utf-8"))
        elapsed = float(data.get("elapsed_time", 0.0))
        nodes = [
            {"unique_id": r["unique_id"], "status": r["status"], "execution_time": r.get("execution_time"),
             "message": r.get("message")}
            for r in data.get("results", [])
        ]
    return DbtResult(returncode=returncode, elapsed_s=elapsed, nodes=nodes)


def build(settings: Settings, log=_log_line) -> DbtResult:
    """`dbt build` of the whole project; raises DbtBuildError when any node fails."""
    result = dbt(settings, "build", log=log)
    if result.returncode != 0:
        names = ", ".join(f"{n['unique_id']} ({n['status']})" for n in result.failed) or "see the dbt log"
        raise DbtBuildError(f"dbt build failed: {names}")
    return result
