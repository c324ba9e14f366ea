"""The Celery config the workers run with (dags/dag_support/celery_config.py): Airflow's settings
unchanged, and Celery's `import_modules` signal (sent once in a worker's main process, before its pool
forks) imports the pipeline and Great Expectations, so forked task processes do not import them again.
Each check runs in a fresh interpreter: this test process has imported most modules already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devtools import devenv

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
import importlib
module, _, attr = sys.argv[1].rpartition(".")
config = getattr(importlib.import_module(module), attr)
before = {m: m in sys.modules for m in sys.argv[2:]}
from celery import Celery
from celery.signals import import_modules
import_modules.send(sender=Celery("probe"))
after = {m: m in sys.modules for m in sys.argv[2:]}
print(json.dumps({"is_default": config is DEFAULT_CELERY_CONFIG, "before": before, "after": after}))
"""


def test_the_workers_celery_config_is_airflows_and_preloads_the_task_modules():
    watched = ["great_expectations", "pandas", "ingestion.pipeline.orchestration", "ingestion.gates.mart_gate"]
    out = subprocess.run([sys.executable, "-c", PROBE, devenv.CELERY_CONFIG_OPTIONS, *watched], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["is_default"], "CELERY_CONFIG must be Airflow's own settings"
    assert not any(result["before"].values()), f"imported before the signal: {result['before']}"
    assert all(result["after"].values()), f"not preloaded by the signal: {result['after']}"


def test_the_stack_and_compose_name_the_same_config():
    env = devenv.executor_env("postgresql+psycopg2://u:p@h:5432/d", "redis://r:6379/0")
    assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == devenv.CELERY_CONFIG_OPTIONS
    assert f"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS: {devenv.CELERY_CONFIG_OPTIONS}" in (
        REPO / "docker-compose.yml").read_text(encoding="utf-8")
