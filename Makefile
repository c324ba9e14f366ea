# socialpulse: one command to run the demo, one to run the tests, on a machine with only
# Python 3.11, git and make. Everything else is installed into .venv from requirements.lock.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "socialpulse needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	# compat: the checkout itself goes on sys.path, so the dev packages the wheel leaves out (sandbox,
	# devtools, bench) import too, e.g. for `socialpulse sandbox serve`.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the locked dependencies

demo: $(STAMP) ## run the nightly pipeline through Airflow against the sandbox
	$(BIN)/python -m devtools.demo

airflow-ui: $(STAMP) ## Airflow's UI over the demo's runs on http://127.0.0.1:$(or $(PORT),8080) (api-server only, no scheduler)
	$(BIN)/python -m devtools.demo ui $(or $(PORT),8080)

# Two pytest workers (pytest-xdist): one run of the suite keeps ~0.8 of 2 cores busy (it waits on
# browsers, the Airflow scheduler, pip), two fill them. A file is the unit (module fixtures once);
# tests/conftest.py puts the slow tiers first. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: $(STAMP) ## run the whole test suite (TEST_WORKERS=2 processes)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

report: $(STAMP) ## render the nightly HTML report from the published BI copy (REPORT_LANG=sv|en)
	$(BIN)/python -m ingestion.publish.report --lang $(or $(REPORT_LANG),sv)

bi: ## Apache Superset on the published marts: own venv (.venv-bi, bi/requirements.lock), provisioned from bi/dashboards, http://127.0.0.1:8088 (SOCIALPULSE_BI_PORT)
	$(PYTHON) bi/superset_bi.py serve

bench: $(STAMP) ## every benchmark: nightly, backfill, dlt peer, limits, pacing, then 5,000 accounts (bench/README.md)
	$(BIN)/python -m bench.run_all --only all

bench-quick: $(STAMP) ## the demo-size benchmarks only: nightly, backfill, dlt peer, limits, pacing (~7-10 min)
	$(BIN)/python -m bench.run_all --only standard

bench-scale: $(STAMP) ## the 5,000-account benchmarks only
	$(BIN)/python -m bench.run_all --only scale

.PHONY: bi bench bench-quick bench-scale

drills: $(STAMP) ## reliability and security drills, fast tier
	$(BIN)/python -m pytest tests/drills -q -m "not drills_long"

audit: ## pip-audit of requirements.lock in a /tmp virtualenv, triaged (security/audit-triage.toml); CI runs it too
	$(PYTHON) security/audit.py

lint: $(STAMP) ## ruff
	$(BIN)/ruff check ingestion sandbox dags tests bench devtools

lock: ## re-resolve and rewrite requirements.lock (deliberate upgrades only)
	rm -rf /tmp/socialpulse-lock && $(PYTHON) -m venv /tmp/socialpulse-lock
	/tmp/socialpulse-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/socialpulse-lock/bin/pip freeze --exclude-editable | grep -v '^socialpulse' > requirements.lock

clean: ## remove generated data (keeps .venv)
	rm -rf data dbt_project/target dbt_project/logs

.PHONY: help venv demo airflow-ui test report drills audit lint lock clean
