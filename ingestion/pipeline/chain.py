"""The nightly chain as plain functions, shared by the CLI (`socialpulse run`) and the Airflow DAGs.

Airflow tasks call the same steps one by one (plan, fetch per chunk, load per platform, dbt build,
publish); the CLI runs them in order in one process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ingestion.core import state
from ingestion.core.days import pacific_today
from ingestion.core.registry import load_registry
from ingestion.core.settings import Settings
from ingestion.extract import fetch
from ingestion.extract.plan import (
    HISTORY_HORIZON_DAYS,
    AccountPlan,
    PlanError,
    check_complete,
    horizon_start,
    plan_nightly,
    plan_window,
    without_covered,
)
from ingestion.load import loader as load
from ingestion.publish import bi_copy as publish
from ingestion.sources import FetchContext
from ingestion.transform import runner as transform

log = logging.getLogger(__name__)

# Accounts per fetch chunk: the default of SOCIALPULSE_FETCH_SHARD_SIZE (settings.fetch_shard_size),
# for callers that size chunks without settings (bench). The CLI and the DAGs use the setting.
CHUNK_SIZE = 50


def default_as_of(now: datetime | None = None) -> date:
    """The last complete platform day: yesterday in Pacific time."""
    return pacific_today(now) - timedelta(days=1)


def new_run_id(kind: str = "manual") -> str:
    """A run id for runs started outside Airflow."""
    return f"{kind}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"


@dataclass
class RunReport:
    """Outcome of a whole run, printed by the CLI and kept in XCom by Airflow."""

    run_id: str
    # The run's logical day (last platform day it covers): the mart gate's reference day.
    as_of: date | None = None
    fetches: list[dict[str, Any]] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    dbt_models: int = 0
    published: dict[str, Any] | None = None
    peers: dict[str, Any] | None = None  # the peer snapshot's outcome (ingestion.load.peers.PeerResult)

    @property
    def failed_accounts(self) -> list[dict[str, Any]]:
        """Every account that did not load, with the reason."""
        seen, out = set(), []
        for item in [*self.fetches, *self.loads]:
            for failure in item.get("failures", item.get("accounts_failed", [])):
                key = (item["platform"], failure["account_id"])
                if key not in seen:
                    seen.add(key)
                    out.append({"platform": item["platform"], **failure})
        return out


def fetch_context(settings: Settings, as_of: date) -> FetchContext:
    """What request builders need: the run's last platform day and the metrics known to be retired."""
    return FetchContext(as_of=as_of, retired_metrics=state.retired_metrics(settings),
                        content_refresh_days=settings.content_refresh_days)


def fetch_and_load(settings: Settings, plans: list[AccountPlan], run_id: str, as_of: date | None = None,
                   progress=None) -> RunReport:
    """Fetch every plan (chunked per platform) and load each platform's batch."""
    registry = load_registry(settings.accounts)
    as_of = as_of or max((p.until for p in plans), default=default_as_of())
    report = RunReport(run_id=run_id, as_of=as_of)
    ctx = fetch_context(settings, as_of)
    progress = progress or fetch.Progress()
    progress.planned(plans)
    fail_fast = fetch.FailFast()  # one for the run: a platform stopped in one chunk sends nothing in the next
    for index, chunk in enumerate(fetch.chunk_plans(plans, settings.fetch_shard_size)):
        result = fetch.fetch_chunk(settings, run_id, f"chunk-{index:04d}", chunk, ctx, progress, fail_fast)
        report.fetches.append(result.to_dict())
    for platform in sorted({p.platform for p in plans}):
        progress.step(f"loading {platform}")
        report.loads.append(load.load_run(settings, registry, run_id, platform).to_dict())
    return report


def run_nightly(settings: Settings, as_of: date | None = None, run_id: str | None = None,
                now: datetime | None = None, progress: fetch.Progress | None = None) -> RunReport:
    """The whole nightly chain without Airflow: plan, fetch, load, dbt build, publish.

    `now` is the clock (default: the real one): it decides the default `as_of` and the history horizon.
    """
    registry = load_registry(settings.accounts)
    as_of = as_of or default_as_of(now)
    plans = plan_nightly(registry, as_of, settings.lookback_days, settings.platforms, now)
    report = fetch_and_load(settings, plans, run_id or new_run_id("nightly"), as_of, progress)
    run_peers(settings, report, now, progress)
    transform_and_publish(settings, report, progress)
    return report


def run_peers(settings: Settings, report: RunReport, now: datetime | None = None, progress=None) -> None:
    """The peers' public counts (issue 22, ingestion/load/peers.py); kept in the report as `peers`."""
    from ingestion.load import peers

    result = peers.snapshot(settings, run_id=report.run_id, now=now, progress=progress)
    report.peers = result.to_dict() if result is not None else None


def run_ingest(settings: Settings, as_of: date | None = None, progress=None, now: datetime | None = None) -> RunReport:
    """Fetch and load the nightly window without transforming (for debugging and drills)."""
    registry = load_registry(settings.accounts)
    as_of = as_of or default_as_of(now)
    plans = plan_nightly(registry, as_of, settings.lookback_days, settings.platforms, now)
    return fetch_and_load(settings, plans, new_run_id("ingest"), as_of, progress)


def plan_backfill(settings: Settings, since: date, until: date, platforms: tuple[str, ...] | None = None,
                  accounts: tuple[str, ...] | None = None, force: bool = False,
                  now: datetime | None = None) -> list[AccountPlan]:
    """Plans for a backfill: clipped to the 2-year horizon (platform days, `now` the clock), minus
    what the ledger already holds."""
    registry = load_registry(settings.accounts)
    plans = plan_window(registry, since, until, platforms or settings.platforms, now)
    if accounts:
        plans = [p for p in plans if p.account_id in accounts]
    if not force:
        plans = without_covered(plans, lambda p: state.covered_days(settings, p.platform, p.account_id))
    return plans


def check_backfill(settings: Settings, since: date, until: date, platforms: tuple[str, ...] | None = None,
                   accounts: tuple[str, ...] | None = None, now: datetime | None = None) -> list[str]:
    """Refuse a backfill that cannot do anything, before anything is written; return notes on what
    the range was narrowed to.

    Why: an unknown account, an account of another platform than --platform, a range outside the
    platforms' history or in the future used to plan nothing and exit 0 without a word (issue 16).
    Raises PlanError with the reason and the fix. `now` is the clock (default: the real one).
    """
    wanted = tuple(platforms or settings.platforms)
    if since > until:
        raise PlanError(f"--since {since} is after --until {until}: swap them; nothing was done.")
    check_complete(until, wanted, "--until", now)
    registry = load_registry(settings.accounts)
    if accounts:
        where: dict[str, set[str]] = {}
        for account in registry.accounts:
            where.setdefault(account.id, set()).add(account.platform)
        unknown = [a for a in accounts if a not in where]
        if unknown:
            raise PlanError(f"--account {', '.join(unknown)}: not in the registry {settings.accounts} "
                            f"(`socialpulse status` lists the registered accounts); nothing was done.")
        for account_id in accounts:
            if not where[account_id] & set(wanted):
                other = sorted(where[account_id])
                raise PlanError(f"--account {account_id} is registered on {'/'.join(other)}, but --platform "
                                f"{' --platform '.join(wanted)} leaves it out: add --platform {other[0]} or drop "
                                f"--platform; nothing was done.")
    notes = []
    for platform in wanted:
        oldest = horizon_start(platform, now)
        if until < oldest:
            raise PlanError(f"{since}..{until} is beyond {platform}'s history limit: the platforms keep "
                            f"{HISTORY_HORIZON_DAYS} days, the oldest is {oldest}. Use --since {oldest} or later; "
                            f"nothing was done.")
        if since < oldest:
            notes.append(f"{platform}: days before {oldest} are beyond the {HISTORY_HORIZON_DAYS}-day history "
                         f"limit and are skipped")
    plans = plan_window(registry, since, until, wanted, now)
    if accounts:
        plans = [p for p in plans if p.account_id in accounts]
    if not plans:
        raise PlanError(f"no account{' of --account' if accounts else ''} is active on {', '.join(wanted)} between "
                        f"{since} and {until} (active_from/active_until in {settings.accounts}); nothing was done.")
    return notes


def run_backfill(
    settings: Settings, since: date, until: date, platforms: tuple[str, ...] | None = None,
    accounts: tuple[str, ...] | None = None, force: bool = False, transform: bool = True, progress=None,
    now: datetime | None = None,
) -> RunReport:
    """Backfill a date range (windows split to each endpoint's limits), then transform once.

    The run's logical day is the last complete platform day at `now` (default: the real clock).
    """
    plans = plan_backfill(settings, since, until, platforms, accounts, force, now)
    report = fetch_and_load(settings, plans, new_run_id("backfill"), default_as_of(now), progress)
    if transform and plans:
        transform_and_publish(settings, report, progress)
    return report


def transform_and_publish(settings: Settings, report: RunReport, progress: fetch.Progress | None = None) -> None:
    """dbt build, then the mart gate (a hard failure keeps the previous BI copy), then publish.

    The gate's reference day (freshness, active accounts) is the run's logical day, `report.as_of`,
    never the wall clock, so a re-run of an old day judges the marts as of that day. Only a report
    without a day falls back to yesterday (Pacific).
    """
    from ingestion.gates import mart_gate

    progress = progress or fetch.Progress()
    progress.step("dbt build")
    result = transform.build(settings)
    report.dbt_models = len(result.models)
    progress.step("mart gate")
    try:
        mart_gate.run(settings, report.run_id, as_of=report.as_of or default_as_of())
    except mart_gate.MartGateError as exc:
        exc.report = report  # the CLI still prints what was loaded before it says why nothing was published
        raise
    progress.step("publishing")
    report.published = publish.publish(settings, run_id=report.run_id).__dict__
    try:
        from ingestion.publish import report as nightly_report

        progress.step("report")
        report.published["report"] = str(nightly_report.render(settings))
    except Exception:  # the report never fails a run whose marts are published
        log.exception("nightly report failed")
