"""Load: landing files -> parse -> load gate -> one transaction into the raw tables.

The one writer of raw data. A load is atomic (all of a run's platform batch or nothing) and
idempotent (its load id is derived from the run and platform; loading the same landing batch twice
is a no-op). A batch that fails the gate is moved to quarantine intact with its validation result
and nothing is committed. An account whose responses cannot be parsed is cut out of the batch and
reported; the other accounts load.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion import landing, quality
from ingestion.fetch import PLATFORM_MODULES
from ingestion.platforms.meta import ParseError
from ingestion.registry import Registry
from ingestion.settings import Settings
from ingestion.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """What a load did (JSON-able through `to_dict`)."""

    load_id: str
    platform: str
    status: str  # committed | already_loaded | quarantined | empty
    responses: int = 0
    observations: int = 0
    accounts_loaded: list[str] = field(default_factory=list)
    accounts_failed: list[dict[str, Any]] = field(default_factory=list)
    business_date_min: str | None = None
    business_date_max: str | None = None
    gate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom, asset-event extras and run reports."""
        return dict(self.__dict__)


def load_id_for(run_id: str, platform: str) -> str:
    """Deterministic load id: the same landing batch always maps to the same load."""
    return f"{landing.safe_name(run_id)}/{platform}"


def _known_metrics(platform: str) -> set[str]:
    module = PLATFORM_MODULES[platform]
    metrics = set(module.NODE_FIELDS)
    for name in ("DAILY_METRICS", "TIME_SERIES_METRICS", "TOTAL_VALUE_METRICS"):
        metrics.update(getattr(module, name, ()))
    if platform == "instagram":
        metrics.add("follows_and_unfollows")
    return metrics


def _parse_records(
    platform: str, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Observations of every parseable account, and the parse error of each account that is not."""
    parser = PLATFORM_MODULES[platform].parse
    by_account: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_account.setdefault(record["account_id"], []).append(record)
    observations, broken = [], {}
    for account_id, recs in by_account.items():
        try:
            rows = []
            for rec in recs:
                rec["fetched_at_dt"] = datetime.fromisoformat(rec["fetched_at"])
                rows.extend(parser(rec))
            observations.extend(rows)
        except (ParseError, KeyError, TypeError, ValueError) as exc:
            broken[account_id] = f"{type(exc).__name__}: {exc}"[:500]
    return observations, broken


def _observations_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(quality.OBSERVATION_COLUMNS))
    df["metric_date"] = pd.to_datetime(df["metric_date"])
    df["end_time"] = pd.to_datetime(df["end_time"], utc=True, format="%Y-%m-%dT%H:%M:%S%z")
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    df["value"] = df["value"].astype("float64")
    return df


def quarantine(settings: Settings, load_id: str, run_id: str, platform: str, payload: dict[str, Any]) -> Path:
    """Keep a rejected batch intact (its landing files) with the reason, outside the warehouse."""
    target = settings.quarantine_dir / landing.safe_name(load_id)
    target.mkdir(parents=True, exist_ok=True)
    source = landing.run_dir(settings.landing_dir, run_id) / platform
    if source.exists():
        shutil.copytree(source, target / "landing", dirs_exist_ok=True)
    (target / "validation.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    return target


def load_run(settings: Settings, registry: Registry, run_id: str, platform: str) -> LoadResult:
    """Load one platform's landing batch of one run into the warehouse."""
    load_id = load_id_for(run_id, platform)
    statuses = landing.read_statuses(settings.landing_dir, run_id, platform)
    records = list(landing.read_records(settings.landing_dir, run_id, platform))
    result = LoadResult(load_id=load_id, platform=platform, status="empty")
    result.accounts_failed = [
        {"account_id": s["account_id"], **(s.get("error") or {})} for s in statuses if s["status"] != "ok"
    ]

    con = connect(settings.warehouse)
    try:
        done = con.execute(
            "select status from raw.loads where load_id = ? and status = 'committed'", [load_id]
        ).fetchall()
        if done:
            result.status = "already_loaded"
            return result
        if not records:
            return result

        observations, broken = _parse_records(platform, records)
        for account_id, message in broken.items():
            result.accounts_failed.append({"account_id": account_id, "error_class": "garbage_response",
                                           "message": message})
        good_records = [r for r in records if r["account_id"] not in broken]
        if broken:
            quarantine(settings, f"{load_id}-unparseable", run_id, platform,
                       {"reason": "unparseable responses", "accounts": broken})
        if not good_records:
            result.status = "quarantined"
            return result

        df = _observations_frame(observations)
        first = min(date.fromisoformat(str(s["since"])) for s in statuses)
        last = max(datetime.fromisoformat(r["fetched_at"]).date() for r in good_records)
        suite = quality.observation_suite(f"raw_{platform}.observations", _known_metrics(platform),
                                          first - timedelta(days=1), last)
        gate = quality.validate(df, suite)
        result.gate = gate.to_dict()
        if not gate.success:
            result.status = "quarantined"
            where = quarantine(settings, load_id, run_id, platform, {"load_id": load_id, "gate": gate.to_dict()})
            log.error("load %s quarantined at %s: %s", load_id, where, gate.failures)
            return result

        _commit(con, settings, registry, load_id, run_id, good_records, df)
        result.status = "committed"
        result.responses = len(good_records)
        result.observations = len(df)
        result.accounts_loaded = sorted({r["account_id"] for r in good_records})
        result.business_date_min = df["metric_date"].min().date().isoformat()
        result.business_date_max = df["metric_date"].max().date().isoformat()
        return result
    finally:
        con.close()


def _commit(con, settings: Settings, registry: Registry, load_id: str, run_id: str,
            records: list[dict[str, Any]], df: pd.DataFrame) -> None:
    """Insert responses, observations, the registry and the load row in one transaction."""
    started = datetime.now(UTC)
    responses = pd.DataFrame(
        {
            "response_id": [r["response_id"] for r in records],
            "platform": [r["platform"] for r in records],
            "account_id": [r["account_id"] for r in records],
            "endpoint": [r["endpoint"] for r in records],
            "request_url": [r["url"] for r in records],
            "request_params": [json.dumps(r["params"]) for r in records],
            "api_version": [r["api_version"] for r in records],
            "http_status": [r["http_status"] for r in records],
            "fetched_at": pd.to_datetime([r["fetched_at"] for r in records], utc=True),
            "usage_headers": [json.dumps(r["usage_headers"]) for r in records],
            "body": [json.dumps(r["body"]) for r in records],
        }
    )
    accounts = pd.DataFrame(
        [
            {
                "platform": a.platform, "account_id": a.id, "name": a.name, "department": a.department,
                "audience": list(a.audience), "active_from": a.active_from, "active_until": a.active_until,
                "linked_account_id": a.linked.partition(":")[2] if a.linked else None,
                "loaded_at": started,
            }
            for a in registry.accounts
        ]
    )
    con.register("incoming_responses", responses)
    con.register("incoming_observations", df)
    con.register("incoming_accounts", accounts)
    con.execute("begin transaction")
    try:
        con.execute(
            """
            insert into raw.responses
            select ?, response_id, platform, account_id, endpoint, request_url, request_params::json,
                   api_version, http_status, fetched_at, usage_headers::json, body::json
            from incoming_responses
            """,
            [load_id],
        )
        con.execute(
            """
            insert into raw.observations
            select ?, response_id, platform, account_id, object_type, object_id, source, metric_name,
                   period, metric_type, dimension, dimension_value, metric_date::date, end_time, value, observed_at
            from incoming_observations
            """,
            [load_id],
        )
        con.execute("delete from raw.accounts")
        con.execute(
            """
            insert into raw.accounts
            select platform, account_id, name, department, audience::varchar[], active_from::date,
                   active_until::date, linked_account_id, loaded_at
            from incoming_accounts
            """
        )
        con.execute(
            """
            insert into raw.loads values (?, ?, ?, ?, 'committed', ?, ?, ?, ?, ?)
            """,
            [
                load_id, run_id, started, datetime.now(UTC), len(records), len(df),
                df["account_id"].nunique(), df["metric_date"].min().date(), df["metric_date"].max().date(),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in ("incoming_responses", "incoming_observations", "incoming_accounts"):
            con.unregister(name)
