"""Task bodies for the Airflow DAGs, with JSON in and out (XCom-friendly) and no Airflow import.

DAG files stay thin (schedule, Assets, wiring); what a task does lives here, testable without a
scheduler and shared with the CLI through `ingestion.pipeline.chain`. Nothing returned here (XComs) or
put into an asset event's `extra` holds a secret: plans name a token's environment variable, never
the token, and failure messages are redacted by the HTTP layer.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ingestion.core.platforms import ALL, SUPPORTED
from ingestion.core.registry import load_registry
from ingestion.core.settings import load_settings
from ingestion.extract import fetch as fetch_mod
from ingestion.extract.http import RETRYABLE
from ingestion.extract.plan import (
    HISTORY_HORIZON_DAYS,
    AccountPlan,
    plan_nightly,
    plan_window,
)
from ingestion.load import loader as load_mod
from ingestion.pipeline import chain as pipeline
from ingestion.pipeline.notify import AccountsFailed, TransientAccountsError
from ingestion.publish import bi_copy as publish_mod
from ingestion.sources.by_platform import PLATFORM_MODULES
from ingestion.transform import runner as transform

log = logging.getLogger(__name__)

__all__ = ["AccountsFailed", "TransientAccountsError"]  # re-exported: the DAGs' failure vocabulary

# Every platform the DAGs have tasks for; a switched-off one (settings.platforms) plans nothing.
PLATFORMS: tuple[str, ...] = ALL
RETRYABLE_CLASSES = frozenset(str(c) for c in RETRYABLE)

# Requests one backfill fetch task may issue: a chunk holds as many accounts as fit (a two-year
# Instagram backfill is ~1,500 requests per account, so chunks shrink to one account there).
BACKFILL_REQUESTS_PER_CHUNK = 2_000
# Airflow's default `[core] max_map_length`: a mapped task with more instances fails. Shards grow
# beyond SOCIALPULSE_FETCH_SHARD_SIZE rather than exceed it.
MAX_SHARDS = 1024
# The longest label Airflow stores for a mapped task instance (`rendered_map_index`, 250 characters).
SHARD_LABEL_MAX = 250
# Keys an asset event's `extra` may carry (an allowlist, so nothing else can leak into it).
EVENT_KEYS = ("kind", "load_id", "status", "observations", "business_date_min", "business_date_max",
              "accounts_loaded", "accounts_failed")


# --------------------------------------------------------------------------------------------------
# Nightly ingest
# --------------------------------------------------------------------------------------------------


def as_of_for(conf: dict[str, Any], data_interval_end: datetime | None) -> date:
    """The platform day a nightly run reads: conf `as_of`, else the day closed before the interval end."""
    if conf.get("as_of"):
        return date.fromisoformat(str(conf["as_of"]))
    return pipeline.default_as_of(data_interval_end)


def shard_size(configured: int, accounts: int) -> int:
    """Accounts per fetch task: the setting, grown only when the platform would otherwise need more
    mapped tasks than Airflow allows (MAX_SHARDS). One task per account would cost a task start
    (1-3 s) per account and hit the map limit at scale; one task for all would serialise the fetch
    on one worker and retry every account when one fails."""
    return max(configured, -(-accounts // MAX_SHARDS), 1)


def shard(plans: list[AccountPlan], size: int) -> list[list[AccountPlan]]:
    """Split one platform's account plans into shards of `size` (see `shard_size`)."""
    return fetch_mod.chunk_plans(plans, shard_size(size, len(plans)))


def shard_label(chunk: list[dict], result: dict | None = None) -> str:
    """The name a fetch shard shows in the Airflow UI instead of its map index: platform, account
    range and, once fetched, how many failed and which ones (the run's `report` task lists them all
    with their reasons). Fits Airflow's 250-character column."""
    if not chunk:
        return "no accounts"
    first, last = chunk[0], chunk[-1]
    label = f"{first['platform']} {first['account_id']}" + (f"..{last['account_id']}" if len(chunk) > 1 else "")
    label += f" ({len(chunk)} account{'s' if len(chunk) != 1 else ''})"
    if result is not None:
        failed = [f["account_id"] for f in result.get("failures") or []]
        label += f": {len(failed)} failed" + (f" {', '.join(failed)}" if failed else "")
    if len(label) > SHARD_LABEL_MAX:
        label = label[: SHARD_LABEL_MAX - 4].rsplit(",", 1)[0] + ", …"
    return label


def _chunk_name(chunk: list[AccountPlan]) -> str:
    """Deterministic and unique within a run (a retry overwrites its own landing files)."""
    if not chunk:
        return "empty"
    digest = hashlib.sha1(
        "|".join(f"{p.platform}:{p.account_id}:{p.since}:{p.until}" for p in chunk).encode()
    ).hexdigest()[:10]
    return f"{chunk[0].account_id}-{len(chunk)}-{digest}"


def plan_nightly_chunks(
    conf: dict[str, Any], data_interval_end: datetime | None, platform: str
) -> list[list[dict]]:
    """Plan one platform's share of the nightly run: chunks of account plans (one mapped fetch each)."""
    settings = load_settings()
    registry = load_registry(settings.accounts)  # validated before any API call
    if platform not in settings.platforms:
        log.info("%s is switched off (settings.platforms=%s): nothing to fetch", platform, settings.platforms)
        return []
    as_of = as_of_for(conf, data_interval_end)
    lookback = int(conf.get("lookback_days") or settings.lookback_days)
    plans = [p for p in plan_nightly(registry, as_of, lookback, (platform,)) if p.platform == platform]
    chunks = [[p.to_dict() for p in chunk] for chunk in shard(plans, settings.fetch_shard_size)]
    log.info("%s as_of=%s lookback=%d: %d accounts in %d shard(s) of up to %d", platform, as_of, lookback,
             len(plans), len(chunks), shard_size(settings.fetch_shard_size, len(plans)))
    return chunks


def fetch(run_id: str, chunk: list[dict], try_number: int = 1, max_tries: int = 0, as_of: str | None = None) -> dict:
    """Fetch one chunk of accounts and land the responses.

    Accounts that failed with a transient error (after the fetch engine's own retries) make the
    task raise `TransientAccountsError` while it has tries left, so Airflow retries the chunk later
    with backoff. On the last try the chunk returns normally: its healthy accounts load, and the
    run report names the failed ones. Auth and invalid-request failures never cause a retry.
    `as_of` is the run's last platform day (default: the chunk's last planned day).
    """
    plans = [AccountPlan.from_dict(p) for p in chunk]
    settings = load_settings()
    last_day = date.fromisoformat(as_of) if as_of else max((p.until for p in plans), default=pipeline.default_as_of())
    ctx = pipeline.fetch_context(settings, last_day)
    result = fetch_mod.fetch_chunk(settings, run_id, _chunk_name(plans), plans, ctx).to_dict()
    log.info("fetched %s chunk %s: %d ok, %d failed, %d round trips (try %d of %d)", result["platform"],
             result["chunk"], result["accounts_ok"], result["accounts_failed"], result["round_trips"],
             try_number, max_tries + 1)
    failures = [{"platform": result["platform"], **f} for f in result["failures"]]
    for failure in failures:  # skipped accounts share the one stop the fetch engine logged
        if not failure.get("skipped"):
            log.warning("%s:%s failed [%s] %s", failure["platform"], failure["account_id"],
                        failure.get("error_class"), failure.get("message"))
    for stop in result.get("stopped") or []:
        log.warning("%s: %d account(s) skipped: %s (fix: %s)", stop["platform"], stop["skipped"], stop["reason"],
                    stop["fix"])
    transient = [f for f in failures if f.get("error_class") in RETRYABLE_CLASSES]
    if transient and try_number <= max_tries:
        raise TransientAccountsError(
            f"{len(transient)} account(s) failed transiently; retrying the chunk", failures=transient
        )
    return result


def load(run_id: str, platform: str) -> dict:
    """Load one platform's batch of a run."""
    settings = load_settings()
    result = load_mod.load_run(settings, load_registry(settings.accounts), run_id, platform).to_dict()
    result["gate"] = _gate_summary(result.get("gate"))
    log.info("load %s: %s, %d observations, dates %s..%s", result["load_id"], result["status"],
             result["observations"], result["business_date_min"], result["business_date_max"])
    if result["status"] == "quarantined":
        log.error("batch quarantined: %s", result["gate"])
    return result


def _gate_summary(gate: dict | None) -> dict | None:
    """The load gate's verdict without sample rows (XComs stay small; the quarantine folder has it all)."""
    if not gate:
        return gate
    return {
        "success": gate.get("success"),
        "rows": gate.get("rows"),
        "failed_accounts": list(gate.get("failed_accounts") or []),
        "failures": [{k: f.get(k) for k in ("suite", "expectation", "unexpected_count", "account_ids")}
                     for f in gate.get("failures") or []],
    }


def event_extra(result: dict, kind: str = "nightly") -> dict:
    """The asset event's `extra`: what a consumer needs to know about the load (and nothing else)."""
    extra = {
        "kind": kind,
        "load_id": result["load_id"],
        "status": result["status"],
        "observations": result["observations"],
        "business_date_min": result["business_date_min"],
        "business_date_max": result["business_date_max"],
        "accounts_loaded": len(result["accounts_loaded"]),
        "accounts_failed": len(result["accounts_failed"]),
    }
    return {k: extra[k] for k in EVENT_KEYS}


def _flatten(items: Iterable[Any] | None) -> list[dict]:
    """XCom values of (mapped) tasks, whatever nesting Airflow hands over; None for tasks that did not run."""
    out: list[dict] = []
    for item in items or []:
        if item is None:
            continue
        if isinstance(item, dict):
            out.append(item)
        else:
            out.extend(_flatten(item))
    return out


def report(planned: dict[str, list[list[dict]]] | None, fetches: Iterable[Any], loads: Iterable[Any],
           events: dict | None | bool = True) -> dict:
    """Summarise the run; raise AccountsFailed (after the loads committed) if any account failed.

    Every planned account is accounted for: loaded, failed with a reason, or missing because its
    fetch or load task failed (then the reason is the task's failure, visible in its own log).
    `events` is what the emit task returned (None when it failed: the transform was not triggered).
    """
    fetch_results, load_results = _flatten(fetches), _flatten(loads)
    unplanned = sorted(p for p, chunks in (planned or {}).items() if chunks is None)
    run = pipeline.RunReport(run_id="airflow", fetches=fetch_results, loads=load_results)
    failed = list(run.failed_accounts)
    known = {(f["platform"], f["account_id"]) for f in failed}
    loads_by_platform = {item["platform"]: item for item in load_results}
    for platform, chunks in (planned or {}).items():
        if chunks is None:
            continue
        item = loads_by_platform.get(platform)
        if item is not None and item["status"] in ("already_loaded", "quarantined"):
            continue  # a re-run of a committed batch, or a batch reported as quarantined below
        loaded = set(item["accounts_loaded"]) if item else set()
        for plan in (p for chunk in chunks for p in chunk):
            key = (platform, plan["account_id"])
            if key in known or plan["account_id"] in loaded:
                continue
            known.add(key)
            reason = "its fetch task failed" if item is not None else "the platform's load did not run"
            failed.append({"platform": platform, "account_id": plan["account_id"], "error_class": "task_failed",
                           "message": f"not loaded: {reason} (see that task's log)"})
    quarantined = [item["load_id"] for item in load_results if item["status"] == "quarantined"]
    for item in load_results:  # name the accounts whose rows failed the load gate
        if item["status"] != "quarantined":
            continue
        gate = item.get("gate") or {}
        checks = ", ".join(sorted({str(f.get("expectation")) for f in gate.get("failures") or []})) or "load gate"
        for account_id in gate.get("failed_accounts") or []:
            if (item["platform"], account_id) not in known:
                known.add((item["platform"], account_id))
                failed.append({"platform": item["platform"], "account_id": account_id, "error_class": "quarantined",
                               "message": f"batch {item['load_id']} quarantined: {checks}"})
    summary = {
        "accounts_loaded": sum(len(item["accounts_loaded"]) for item in load_results),
        "observations": sum(item["observations"] for item in load_results),
        "loads": {item["platform"]: item["status"] for item in load_results},
        "failed_accounts": failed,
        "quarantined_loads": quarantined,
    }
    log.info("run summary: %s", json.dumps({k: v for k, v in summary.items() if k != "failed_accounts"}))
    if events is None and any(item["status"] in ("committed", "already_loaded") for item in load_results):
        raise RuntimeError("data was committed but the raw-data events were not emitted (see emit_events): "
                           "the transform was not triggered; re-run emit_events or trigger socialpulse_transform")
    if planned is None or unplanned:
        raise AccountsFailed(f"platform(s) {unplanned or 'all'} were not planned (see the plan tasks' logs)",
                             failures=failed, quarantined=quarantined)
    if failed or quarantined:
        lines = [f"{f['platform']}:{f['account_id']} [{f.get('error_class')}] {f.get('message')}" for f in failed
                 if not f.get("skipped")]
        skipped = Counter((f["platform"], f.get("error_class"), f.get("message")) for f in failed if f.get("skipped"))
        lines += [f"{platform}: {n} account(s) [{error_class}] {message}"  # one line per fail-fast stop
                  for (platform, error_class, message), n in skipped.items()]
        raise AccountsFailed(
            f"{len(failed)} account(s) failed, {len(quarantined)} load(s) quarantined:\n" + "\n".join(lines),
            failures=failed, quarantined=quarantined,
        )
    return summary


# --------------------------------------------------------------------------------------------------
# Transform
# --------------------------------------------------------------------------------------------------


def collect_events(triggering_asset_events: Any) -> dict:
    """Fold every triggering asset event into one description of what changed (one log line each)."""
    loads = []
    for asset, events in (triggering_asset_events or {}).items():
        name = str(getattr(asset, "name", asset))
        for event in events:
            extra = {k: v for k, v in dict(getattr(event, "extra", None) or {}).items() if k in EVENT_KEYS}
            source = getattr(event, "source_run_id", None)
            loads.append({"asset": name, "source_run_id": source, **extra})
            log.info("event %s: load %s (%s) business dates %s..%s from run %s", name, extra.get("load_id"),
                     extra.get("status"), extra.get("business_date_min"), extra.get("business_date_max"), source)
    dates = [d for item in loads for d in (item.get("business_date_min"), item.get("business_date_max")) if d]
    summary = {
        "events": len(loads),
        "loads": loads,
        "load_ids": sorted({str(item["load_id"]) for item in loads if item.get("load_id")}),
        "business_date_min": min(dates) if dates else None,
        "business_date_max": max(dates) if dates else None,
        # The day a nightly closed: the mart gate judges freshness as of it (a backfill of old
        # days does not move it; with no nightly event the gate uses yesterday, Pacific).
        "nightly_as_of": max((str(item["business_date_max"]) for item in loads
                              if item.get("kind") == "nightly" and item.get("business_date_max")), default=None),
    }
    log.info("transform covers %d load event(s), business dates %s..%s", len(loads),
             summary["business_date_min"], summary["business_date_max"])
    return summary


def _mart_models(nodes: Iterable[dict]) -> set[str]:
    """Unique ids of the build's dbt models that materialise in schema `marts`."""
    return {node["unique_id"] for node in nodes
            if node["unique_id"].startswith("model.") and node.get("schema") == publish_mod.MARTS_SCHEMA}


def _dbt_error_lines(lines: Iterable[str], limit: int = 8) -> list[str]:
    """dbt's own error summary (from "Encountered an error" or the first ERROR line on), ANSI-free."""
    clean = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in lines]
    for index, line in enumerate(clean):
        if "Encountered an error" in line or " ERROR " in f" {line} " or "Compilation Error" in line:
            return [item for item in clean[index:] if item][:limit]
    return []


def dbt_build() -> dict:
    """One `dbt build`; per-model results go to the log and the return value (marts listed apart)."""
    settings = load_settings()
    tail: deque[str] = deque(maxlen=200)

    def _log(line: str) -> None:
        tail.append(line)
        log.info(line)

    try:
        result = transform.build(settings, log=_log)
    except transform.DbtBuildError as exc:
        # Failed nodes are named by dbt build; a project that does not parse names none: say why.
        errors = _dbt_error_lines(tail)
        if errors:
            raise transform.DbtBuildError(f"{exc}\n" + "\n".join(errors)) from exc
        raise
    marts = _mart_models(result.nodes)
    nodes = []
    for node in result.nodes:
        log.info("dbt %-8s %s (%.2fs)", node["status"], node["unique_id"], node["execution_time"] or 0)
        nodes.append({"unique_id": node["unique_id"], "status": node["status"],
                      "execution_time": round(node["execution_time"] or 0.0, 3)})
    built_marts = [
        {"model": uid.rsplit(".", 1)[-1], "unique_id": uid, "status": node["status"],
         "execution_time": node["execution_time"]}
        for node in nodes if (uid := node["unique_id"]) in marts and node["status"] == "success"
    ]
    return {"models": result.models, "marts": built_marts, "elapsed_s": result.elapsed_s, "nodes": nodes}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def mart_gate(run_id: str, events: dict | None = None) -> dict:
    """The quality gate on the marts (`ingestion.gates.mart_gate.run`), when that module exists.

    A failing gate raises, and the marts are not published. The reference day is the nightly's
    logical day from the folded events (`nightly_as_of`), as `socialpulse run` does, so a re-run
    of an old night judges the marts as of that night, not of the wall clock.
    """
    if importlib.util.find_spec("ingestion.gates.mart_gate") is None:
        log.info("no ingestion.gates.mart_gate module yet: mart gate skipped")
        return {"gate": "not_installed"}
    module = importlib.import_module("ingestion.gates.mart_gate")
    as_of = (events or {}).get("nightly_as_of")
    result = module.run(load_settings(), run_id, as_of=date.fromisoformat(as_of) if as_of else None)
    log.info("mart gate (as of %s): %s", as_of or "yesterday, Pacific", result)
    return {"gate": "ran", "result": json.loads(json.dumps(_jsonable(result), default=str))}


def publish(events: dict | None = None, run_id: str | None = None) -> dict:
    """Publish the marts for BI and render the nightly report; returns the "marts published" extra."""
    settings = load_settings()
    result = publish_mod.publish(settings, run_id=run_id)
    log.info("published %d marts to %s", len(result.tables), result.path)
    if importlib.util.find_spec("ingestion.publish.report") is not None:
        try:  # as in `socialpulse run`: the report never fails a run whose marts are published
            from ingestion.publish import report as nightly_report

            log.info("nightly report: %s", nightly_report.render(settings))
        except Exception:
            log.exception("nightly report failed")
    events = events or {}
    return {
        "published_at": result.published_at,
        "tables": result.tables,
        "load_ids": events.get("load_ids", []),
        "business_date_min": events.get("business_date_min"),
        "business_date_max": events.get("business_date_max"),
    }


# --------------------------------------------------------------------------------------------------
# Backfill
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackfillRequest:
    """Validated backfill parameters, clipped to what the platforms can serve."""

    since: date
    until: date
    platforms: tuple[str, ...]
    accounts: tuple[str, ...]
    force: bool
    notes: tuple[str, ...] = ()


def backfill_request(params: dict[str, Any], today: date | None = None,
                     enabled: tuple[str, ...] = SUPPORTED) -> BackfillRequest:
    """Validate the backfill DAG's params; clip `until` to the last complete platform day.

    `since` is clipped to the platforms' history horizon by the planner (`ingestion.extract.plan`).
    """
    if not params.get("since") or not params.get("until"):
        raise ValueError("a backfill needs both `since` and `until` (YYYY-MM-DD)")
    since, until = date.fromisoformat(str(params["since"])), date.fromisoformat(str(params["until"]))
    if until < since:
        raise ValueError(f"until {until} is before since {since}")
    platforms = tuple(params.get("platforms") or enabled)  # empty: every enabled platform
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown:
        raise ValueError(f"unsupported platform(s) {unknown}; supported: {list(PLATFORMS)}")
    off = sorted(set(platforms) - set(enabled))
    if off:
        raise ValueError(f"platform(s) {off} are switched off in this deployment (see SOCIALPULSE_*_ENABLED)")
    last_complete = today or pipeline.default_as_of()
    notes = []
    if until > last_complete:
        notes.append(f"until {until} clipped to the last complete platform day {last_complete}")
        until = last_complete
    if since > until:
        raise ValueError(f"nothing to backfill: {since} is after the last complete platform day {until}")
    horizon = last_complete - timedelta(days=HISTORY_HORIZON_DAYS)
    if since < horizon:
        notes.append(f"since {since} is beyond the platforms' {HISTORY_HORIZON_DAYS}-day history; "
                     f"days before {horizon} cannot be fetched")
    accounts = tuple(str(a) for a in (params.get("accounts") or ()))
    return BackfillRequest(since, until, platforms, accounts, bool(params.get("force")), tuple(notes))


def _requests_for(plan: AccountPlan, ctx) -> int:
    return len(PLATFORM_MODULES[plan.platform].requests_for(plan, ctx))


def _budget_chunks(plans: list[AccountPlan], ctx, budget: int,
                   size: int = pipeline.CHUNK_SIZE) -> tuple[list[list[AccountPlan]], int]:
    """Per-platform chunks of at most `size` plans (the shard size) and about `budget` first-round
    requests each."""
    out, total = [], 0
    for chunk in shard(plans, size):
        current: list[AccountPlan] = []
        used = 0
        for plan in chunk:
            cost = _requests_for(plan, ctx)
            total += cost
            if current and used + cost > budget:
                out.append(current)
                current, used = [], 0
            current.append(plan)
            used += cost
        if current:
            out.append(current)
    return out, total


def plan_backfill_chunks(params: dict[str, Any], platform: str, today: date | None = None) -> list[list[dict]]:
    """Plan one platform's share of a backfill: windows within the API limits, minus what the
    coverage ledger already holds (unless `force`), in request-budgeted chunks. Empty when the
    platform is not asked for."""
    settings = load_settings()
    req = backfill_request(params, today, settings.platforms)
    if platform not in req.platforms:
        log.info("%s: not part of this backfill", platform)
        return []
    if req.accounts:
        registered = {p.account_id for p in plan_window(load_registry(settings.accounts), req.since, req.until,
                                                         req.platforms)}
        unknown = sorted(set(req.accounts) - registered)
        if unknown:
            raise ValueError(f"account(s) {unknown} are not registered (or not active) on {list(req.platforms)}")
    plans = pipeline.plan_backfill(settings, req.since, req.until, (platform,), req.accounts or None, req.force)
    ctx = pipeline.fetch_context(settings, today or pipeline.default_as_of())
    chunks, requests_total = _budget_chunks(plans, ctx, BACKFILL_REQUESTS_PER_CHUNK, settings.fetch_shard_size)
    for note in req.notes:
        log.warning(note)
    log.info("backfill %s %s..%s accounts=%s force=%s: %d account window(s), %d first-round requests in "
             "%d chunk(s)", platform, req.since, req.until, list(req.accounts) or "all", req.force, len(plans),
             requests_total, len(chunks))
    return [[p.to_dict() for p in chunk] for chunk in chunks]


def peers(run_id: str) -> dict:
    """The nightly peer snapshot (ingestion/load/peers.py) as an Airflow task body: the same step
    `socialpulse run` takes; {"peers": 0} when the registry lists none."""
    from ingestion.load import peers as peers_mod

    result = peers_mod.snapshot(load_settings(), run_id=run_id)
    if result is None:
        return {"peers": 0}
    summary = result.to_dict()
    log.info("peer snapshot: %s", {k: v for k, v in summary.items() if not isinstance(v, list | dict)})
    return summary


def raw_events(loads: Iterable[Any], kind: str) -> dict[str, dict]:
    """One event `extra` per platform whose load committed (or had committed, seen on a retry)."""
    return {
        item["platform"]: event_extra(item, kind=kind)
        for item in _flatten(loads) if item["status"] in ("committed", "already_loaded")
    }
