"""Task bodies for the Airflow DAGs, with JSON in and out (XCom-friendly) and no Airflow import.

DAG files stay thin (schedule, Assets, wiring); what a task does lives here, testable without a
scheduler and shared with the CLI through `ingestion.pipeline`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from ingestion import fetch as fetch_mod
from ingestion import load as load_mod
from ingestion import pipeline, transform
from ingestion import publish as publish_mod
from ingestion.plan import AccountPlan, plan_nightly
from ingestion.registry import load_registry
from ingestion.settings import load_settings

log = logging.getLogger(__name__)


class AccountsFailed(RuntimeError):
    """Some accounts failed; the healthy ones were loaded. The message names every failure."""


def as_of_for(conf: dict[str, Any], data_interval_end: datetime | None) -> date:
    """The platform day a nightly run reads: conf `as_of`, else the day closed before the interval end."""
    if conf.get("as_of"):
        return date.fromisoformat(str(conf["as_of"]))
    return pipeline.default_as_of(data_interval_end)


def plan_chunks(conf: dict[str, Any], data_interval_end: datetime | None) -> list[list[dict]]:
    """Plan the nightly run and split it into per-platform chunks of account plans."""
    settings = load_settings()
    registry = load_registry(settings.accounts)  # validated before any API call
    as_of = as_of_for(conf, data_interval_end)
    plans = plan_nightly(registry, as_of, int(conf.get("lookback_days") or settings.lookback_days))
    chunks = fetch_mod.chunk_plans(plans, pipeline.CHUNK_SIZE)
    log.info("as_of=%s: %d accounts in %d chunks", as_of, len(plans), len(chunks))
    return [[p.to_dict() for p in chunk] for chunk in chunks]


def fetch(run_id: str, chunk: list[dict]) -> dict:
    """Fetch one chunk and land it; the chunk name is derived from its first account."""
    plans = [AccountPlan.from_dict(p) for p in chunk]
    name = f"{plans[0].account_id}-{len(plans)}" if plans else "empty"
    result = fetch_mod.fetch_chunk(load_settings(), run_id, name, plans).to_dict()
    log.info("fetched %s: %d ok, %d failed, %d round trips", result["platform"], result["accounts_ok"],
             result["accounts_failed"], result["round_trips"])
    return result


def load(run_id: str, platform: str) -> dict:
    """Load one platform's batch of a run."""
    settings = load_settings()
    result = load_mod.load_run(settings, load_registry(settings.accounts), run_id, platform).to_dict()
    log.info("load %s: %s, %d observations", result["load_id"], result["status"], result["observations"])
    if result["status"] == "quarantined" and not result["accounts_loaded"]:
        log.error("batch quarantined: %s", result["gate"])
    return result


def event_extra(result: dict) -> dict:
    """The asset event's `extra`: what a consumer needs to know about the load."""
    return {
        "load_id": result["load_id"],
        "status": result["status"],
        "observations": result["observations"],
        "business_date_min": result["business_date_min"],
        "business_date_max": result["business_date_max"],
        "accounts_loaded": len(result["accounts_loaded"]),
        "accounts_failed": len(result["accounts_failed"]),
    }


def report(fetches: list[dict], loads: list[dict]) -> dict:
    """Summarise the run; raise AccountsFailed (after the loads committed) if any account failed."""
    run = pipeline.RunReport(run_id="airflow", fetches=list(fetches), loads=list(loads))
    failed = run.failed_accounts
    quarantined = [item["load_id"] for item in loads if item["status"] == "quarantined"]
    summary = {
        "accounts_loaded": sum(len(item["accounts_loaded"]) for item in loads),
        "observations": sum(item["observations"] for item in loads),
        "failed_accounts": failed,
        "quarantined_loads": quarantined,
    }
    log.info("run summary: %s", summary)
    if failed or quarantined:
        lines = [f"{f['platform']}:{f['account_id']} [{f.get('error_class')}] {f.get('message')}" for f in failed]
        raise AccountsFailed(
            f"{len(failed)} account(s) failed, {len(quarantined)} load(s) quarantined:\n" + "\n".join(lines)
        )
    return summary


def collect_events(triggering_asset_events: Any) -> dict:
    """Fold every triggering asset event into one description of what changed."""
    loads = []
    for asset, events in (triggering_asset_events or {}).items():
        for event in events:
            extra = dict(getattr(event, "extra", None) or {})
            loads.append({"asset": str(getattr(asset, "name", asset)), **extra})
    dates = [d for item in loads for d in (item.get("business_date_min"), item.get("business_date_max")) if d]
    summary = {"events": len(loads), "loads": loads,
               "business_date_min": min(dates) if dates else None,
               "business_date_max": max(dates) if dates else None}
    log.info("transform covers %d load event(s): %s", len(loads), summary)
    return summary


def dbt_build() -> dict:
    """One `dbt build`; per-model results go to the log and the return value."""
    result = transform.build(load_settings(), log=log.info)
    for node in result.nodes:
        log.info("dbt %-8s %s (%.2fs)", node["status"], node["unique_id"], node["execution_time"] or 0)
    return {"models": result.models, "elapsed_s": result.elapsed_s, "nodes": len(result.nodes)}


def publish() -> dict:
    """Publish the marts for BI."""
    return publish_mod.publish(load_settings()).__dict__
