"""Nightly snapshot of the peers' public counts (issue 22): plan, fetch, land, parse, gate, load.

Why a separate path next to the own-account pipeline: peers have no window of days and no
insights, only current public values, and they are not "our" accounts (no ledger, no coverage, no
registry rows). What is shared is everything that makes the own fetch robust: the round engine of
`ingestion.extract.fetch` (Graph batches of 50, retries with backoff, per-account isolation, pacing on the
usage headers, FailFast on a dead URL or token), the HTTP client, the landing files (the verbatim
responses under `<landing>/<run>/peers/`), the Data Docs and validation history of the GX gate,
and the quarantine folder.

One night, `snapshot(settings, registry, run_id)`:
1. one call per peer account: Instagram business discovery on the first own Instagram account,
   public Page fields by Page id, YouTube `channels.list` by id or handle (see docs/peers.md);
2. the responses are landed verbatim, one file per platform;
3. each response is parsed into one snapshot row (and, for Instagram, one row per recent post);
   an account that failed (renamed, private, age-gated, not public, missing app feature, no
   channel) becomes one finding with what to do about it -- the others go on;
4. a GX gate checks the rows (keys, one row per account, counts >= 0, the expected day, only
   registered accounts); a failing batch is quarantined whole and nothing is committed;
5. one transaction appends responses, snapshots, media, findings and the load row.

Nothing is written for days without a snapshot: history starts with the first night and a failed
night is a gap (the marts never interpolate).
"""

from __future__ import annotations

import json
import logging
import time
import types
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from ingestion.core.days import snapshot_date
from ingestion.core.platforms import PEERS
from ingestion.core.registry import Peer, PeerAccount, Registry
from ingestion.core.settings import DEFAULT_TOKEN_ENV, Settings
from ingestion.extract import fetch, landing
from ingestion.extract.http import HttpClient
from ingestion.extract.plan import AccountPlan
from ingestion.gates import quality
from ingestion.load.warehouse import connect, transaction
from ingestion.sources import FetchContext, RequestSpec

log = logging.getLogger(__name__)

LANDING_FOLDER = "peers"
PEER_PLATFORMS = PEERS
# Recent media per Instagram peer: enough for 4 weeks of a daily poster (posts per week, engagement).
MEDIA_LIMIT = 30
BUSINESS_DISCOVERY = ("business_discovery.username({username}){{username,name,followers_count,media_count,"
                      "media.limit({limit}){{like_count,comments_count,timestamp,media_product_type}}}}")
PAGE_FIELDS = "id,name,link,followers_count,fan_count"


class PeerParseError(ValueError):
    """A peer response that does not hold what the snapshot needs; the message is the finding."""


@dataclass(frozen=True)
class PeerRef:
    """One peer account with the organisation it belongs to."""

    peer: Peer
    account: PeerAccount

    @property
    def platform(self) -> str:
        return self.account.platform

    @property
    def ref(self) -> str:
        return self.account.ref


@dataclass
class PeerResult:
    """What one night's peer snapshot did (JSON-able through `to_dict`)."""

    run_id: str
    load_id: str
    snapshot_date: date | None = None
    status: str = "empty"  # empty | committed | quarantined | already_loaded
    accounts_ok: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    round_trips: int = 0
    gate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["snapshot_date"] = self.snapshot_date.isoformat() if self.snapshot_date else None
        return out


def peer_refs(registry: Registry) -> list[PeerRef]:
    """Every peer account of the registry, in file order."""
    return [PeerRef(peer, account) for peer in registry.peers for account in peer.accounts]


# ------------------------------------------------------------------------------------------------
# Requests (platform modules for the fetch engine)
# ------------------------------------------------------------------------------------------------


def _platform_module(platform: str, own_ig_user: str | None) -> types.SimpleNamespace:
    """What `fetch._Rounds` needs from a platform: which executor, the first call, no follow-ups."""

    def requests_for(plan: AccountPlan, ctx: FetchContext) -> list[RequestSpec]:
        ref = plan.account_id
        name = f"peer_{platform}"
        if platform == "instagram":
            fields = BUSINESS_DISCOVERY.format(username=ref, limit=MEDIA_LIMIT)
            return [RequestSpec(name, ref, "business_discovery", str(own_ig_user), {"fields": fields},
                                object_type="peer_account", object_id=ref)]
        if platform == "facebook":
            return [RequestSpec(name, ref, "page_public", ref, {"fields": PAGE_FIELDS},
                                object_type="peer_account", object_id=ref)]
        lookup = {"forHandle": ref} if ref.startswith("@") else {"id": ref}
        return [RequestSpec(name, ref, "channel_public", "channels", {"part": "statistics,snippet", **lookup},
                            object_type="peer_account", object_id=ref, base="youtube_data")]

    return types.SimpleNamespace(
        PLATFORM=f"peer_{platform}", API="youtube" if platform == "youtube" else "graph",
        requests_for=requests_for, follow_ups=lambda spec, body, ctx: [],
    )


def explain(platform: str, ref: str, error: dict[str, Any]) -> str:
    """One line for people: what failed for this peer account and what to do about it."""
    code, subcode, message = error.get("code"), error.get("subcode"), str(error.get("message", ""))
    if platform == "instagram" and code == 110:
        return (f"instagram {ref}: business discovery cannot find this username (renamed, deleted, not a "
                f"professional account, private or age-gated); check https://www.instagram.com/{ref}/ and "
                "update peers: in the registry")
    if platform == "facebook" and code == 10 and "Page Public Metadata Access" in message:
        return (f"facebook {ref}: the app lacks the 'Page Public Metadata Access' feature (an app-review item, "
                "docs/peers.md); no peer Page can be read until Meta grants it")
    if platform == "facebook" and code == 100 and subcode == 33:
        return f"facebook {ref}: no public Page with this id (unpublished, restricted or a wrong id); check the Page id"
    return f"{platform} {ref}: {message or error.get('error_class', 'failed')}"


def _tokens(settings: Settings, platform: str) -> tuple[str | None, str]:
    """(token, where it comes from): the own accounts' default token of the platform."""
    source = DEFAULT_TOKEN_ENV.get(platform, "?")
    token = settings.token_for(None, platform)
    return (token.get_secret_value() if token else None), source


def fetch_peers(settings: Settings, registry: Registry, run_id: str, now: datetime | None = None,
                progress: fetch.Progress | None = None) -> tuple[list[dict[str, Any]], PeerResult]:
    """Fetch every peer account and land the responses; returns the per-account statuses.

    Each platform is one chunk of the fetch engine (its calls batched and paced like the own
    accounts'); an account whose call fails is recorded with its error and lands nothing.
    """
    from ingestion.load.loader import load_id_for

    result = PeerResult(run_id=run_id, load_id=load_id_for(run_id, LANDING_FOLDER))
    refs = peer_refs(registry)
    own_ig = next(iter(registry.for_platform("instagram")), None)
    day = snapshot_date(now or datetime.now(UTC))
    ctx = FetchContext(as_of=day)
    result.snapshot_date = day
    statuses: list[dict[str, Any]] = []
    for platform in PEER_PLATFORMS:
        mine = [r for r in refs if r.platform == platform]
        if not mine:
            continue
        token, source = _tokens(settings, platform)
        accounts: dict[str, Any] = {}
        for r in mine:
            plan = AccountPlan(platform=f"peer_{platform}", account_id=r.ref, token_env=None, since=day, until=day)
            accounts[r.ref] = fetch._Account(plan, token, source=source)
            if platform == "instagram" and own_ig is None:
                accounts[r.ref].error = {"error_class": "invalid_request",
                                         "message": "business discovery needs one of the organisation's own "
                                                    "Instagram accounts in accounts:"}
        client = HttpClient(timeout_s=settings.http_timeout_s, max_retries=settings.http_max_retries,
                            secrets=(token,) if token else ())
        sink = landing.ChunkWriter(settings.landing_dir, run_id, LANDING_FOLDER, platform)
        try:
            try:
                module = _platform_module(platform, own_ig.id if own_ig else None)
                fetch._Rounds(settings, run_id, f"peers-{platform}", module, ctx, accounts, client, fetch.FailFast(),
                              progress or fetch.Progress(), sink).run()
            finally:
                client.close()
            result.round_trips += client.stats.round_trips
            result.requests += sum(a.requests for a in accounts.values())
            chunk_statuses = [a.status() for a in accounts.values()]
            sink.commit([a.plan.account_id for a in accounts.values() if a.error is None], chunk_statuses)
        finally:
            sink.discard()
        statuses.extend(chunk_statuses)
    return statuses, result


# ------------------------------------------------------------------------------------------------
# Parse
# ------------------------------------------------------------------------------------------------


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise PeerParseError(f"{what} is not a count")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PeerParseError(f"{what} is not a count ({value!r})") from None
    return number


def parse_record(record: dict[str, Any], ref: PeerRef) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One landed response -> (snapshot row, media rows). Raises PeerParseError with the finding."""
    observed_at = datetime.fromisoformat(str(record["fetched_at"]))
    day = snapshot_date(observed_at)
    body = record["body"] if isinstance(record.get("body"), dict) else {}
    row: dict[str, Any] = {
        "response_id": record["response_id"], "peer_name": ref.peer.name, "peer_group": ref.peer.group,
        "population": ref.peer.population, "platform": ref.platform, "ref": ref.ref,
        "department": ref.account.department, "account_name": None, "snapshot_date": day,
        "observed_at": observed_at, "followers": None, "followers_hidden": False, "followers_rounded": False,
        "fan_count": None, "media_count": None, "recent_media": None,
    }
    media: list[dict[str, Any]] = []
    if ref.platform == "instagram":
        node = body.get("business_discovery")
        if not isinstance(node, dict) or "followers_count" not in node:
            raise PeerParseError(f"instagram {ref.ref}: business discovery answered without followers_count")
        row.update(account_name=node.get("name"), followers=_count(node["followers_count"], "followers_count"),
                   media_count=_count(node.get("media_count", 0), "media_count"))
        items = (node.get("media") or {}).get("data") or []
        for item in items:
            try:
                published = datetime.strptime(str(item["timestamp"]), "%Y-%m-%dT%H:%M:%S%z")
            except (KeyError, ValueError):
                raise PeerParseError(f"instagram {ref.ref}: a media item without a valid timestamp") from None
            media.append({
                "response_id": record["response_id"], "ref": ref.ref, "snapshot_date": day,
                "media_id": str(item.get("id", "")), "published_at": published,
                "media_product_type": item.get("media_product_type"),
                "like_count": _count(item.get("like_count", 0), "like_count"),
                "comments_count": _count(item.get("comments_count", 0), "comments_count"),
            })
        row["recent_media"] = len(media)
    elif ref.platform == "facebook":
        if "followers_count" not in body:
            raise PeerParseError(f"facebook {ref.ref}: the Page answered without followers_count")
        row.update(account_name=body.get("name"), followers=_count(body["followers_count"], "followers_count"),
                   fan_count=_count(body["fan_count"], "fan_count") if "fan_count" in body else None)
    else:
        items = body.get("items")
        if not items:
            raise PeerParseError(f"youtube {ref.ref}: no channel found (renamed handle or wrong channel id?); "
                                 "check the channel and update peers: in the registry")
        stats = items[0].get("statistics") or {}
        hidden = bool(stats.get("hiddenSubscriberCount"))
        row.update(account_name=(items[0].get("snippet") or {}).get("title"), followers_hidden=hidden,
                   followers_rounded=True,
                   followers=None if hidden or "subscriberCount" not in stats
                   else _count(stats["subscriberCount"], "subscriberCount"))
    return row, media


# ------------------------------------------------------------------------------------------------
# Gate and load
# ------------------------------------------------------------------------------------------------


def gate(snapshots: pd.DataFrame, media: pd.DataFrame, *, expected: list[str], day: date, run_id: str,
         load_id: str, settings: Settings) -> quality.GateResult:
    """GX checks of one night's peer rows before commit (a failure quarantines the whole batch)."""
    started = time.perf_counter()
    folder = quality.docs_root(settings.home_abs) / landing.safe_name(run_id) / landing.safe_name(load_id)
    v = quality.Validator(folder, pages="failed")
    gxe = v.gxe
    frame = snapshots.copy()
    frame["key"] = frame["platform"] + ":" + frame["ref"]
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    v.validate("raw_peers.snapshots", frame, [
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("response_id", "peer_name", "platform", "ref", "snapshot_date", "observed_at")],
        gxe.ExpectColumnValuesToBeUnique(column="key"),
        gxe.ExpectColumnValuesToBeInSet(column="key", value_set=expected),
        gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=list(PEER_PLATFORMS)),
        gxe.ExpectColumnValuesToBeBetween(column="snapshot_date", min_value=pd.Timestamp(day),
                                          max_value=pd.Timestamp(day)),
        gxe.ExpectColumnValuesToBeBetween(column="followers", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="fan_count", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="media_count", min_value=0),
    ])
    if len(media):
        v.validate("raw_peers.media", media, [
            *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("media_id", "published_at", "ref")],
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["ref", "media_id"]),
            gxe.ExpectColumnValuesToBeBetween(column="like_count", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="comments_count", min_value=0),
        ])
    result = quality.GateResult(
        run_id=run_id, load_id=load_id, platform=LANDING_FOLDER, success=not v.failures and not v.raised,
        rows=len(frame), suites=list(v.runs), failures=v.failures, raised=v.raised,
        gx_import_seconds=v.import_seconds, summary_suite="raw_peers.load_gate")
    result.docs_path = quality.write_index(folder, f"peer gate {load_id} ({run_id})", v.runs, v.failures, v.raised,
                                           checks=v.checks)
    result.gx_seconds = time.perf_counter() - started
    return result


def load_peers(settings: Settings, registry: Registry, run_id: str, result: PeerResult) -> PeerResult:
    """Parse the landed peer responses of a run, gate them and commit them in one transaction."""
    from ingestion.load.loader import quarantine

    by_key = {(r.platform, r.ref): r for r in peer_refs(registry)}
    statuses = landing.read_statuses(settings.landing_dir, run_id, LANDING_FOLDER)
    now = datetime.now(UTC)
    findings: list[dict[str, Any]] = []
    for status in statuses:
        if status["status"] != "ok":
            platform = status["platform"].removeprefix("peer_")
            error = status.get("error") or {}
            findings.append({"platform": platform, "ref": status["account_id"],
                             "error_class": str(error.get("error_class", "failed")),
                             "message": explain(platform, status["account_id"], error)})
    rows, media, responses = [], [], []
    for record in landing.read_records(settings.landing_dir, run_id, LANDING_FOLDER):
        platform = record["platform"].removeprefix("peer_")
        ref = by_key.get((platform, record["account_id"]))
        if ref is None:  # removed from the registry since the fetch: not a peer any more
            continue
        try:
            row, items = parse_record(record, ref)
        except PeerParseError as exc:
            findings.append({"platform": platform, "ref": ref.ref, "error_class": "garbage_response",
                             "message": str(exc)})
            continue
        rows.append(row)
        media.extend(items)
        responses.append({"response_id": record["response_id"], "platform": platform, "ref": ref.ref,
                          "url": record.get("url"), "params": json.dumps(record.get("params")),
                          "http_status": record.get("http_status"), "fetched_at": row["observed_at"],
                          "body": json.dumps(record.get("body"))})
    for f in findings:
        peer = by_key.get((f["platform"], f["ref"]))
        f["peer_name"] = peer.peer.name if peer else None
        log.warning("peer snapshot: %s", f["message"])
    result.findings = findings
    result.accounts_ok = len(rows)
    if not rows and not findings:
        return result
    day = rows[0]["snapshot_date"] if rows else (result.snapshot_date or snapshot_date(now))
    result.snapshot_date = day
    snapshots = pd.DataFrame(rows)
    media_df = pd.DataFrame(media, columns=["response_id", "ref", "snapshot_date", "media_id", "published_at",
                                            "media_product_type", "like_count", "comments_count"])
    con = connect(settings.warehouse)
    try:
        if con.execute("select 1 from raw.peer_loads where load_id = ? and status = 'committed'",
                       [result.load_id]).fetchall():
            result.status = "already_loaded"
            return result
        if rows:
            expected = [f"{s['platform'].removeprefix('peer_')}:{s['account_id']}" for s in statuses
                        if s["status"] == "ok"]
            checked = gate(snapshots, media_df, expected=expected, day=day, run_id=run_id, load_id=result.load_id,
                           settings=settings)
            result.gate = checked.to_dict()
            if not checked.success:
                result.status = "quarantined"
                quality.record_validation(con, checked)
                where = quarantine(settings, result.load_id, run_id, LANDING_FOLDER, checked.to_dict())
                log.error("peer load %s quarantined at %s:\n%s", result.load_id, where, checked.describe())
                return result
        _commit(con, result, day, snapshots if rows else None, media_df, responses, findings, now,
                checked if rows else None)
        result.status = "committed"
        return result
    finally:
        con.close()


def _commit(con, result: PeerResult, day: date, snapshots: pd.DataFrame | None, media: pd.DataFrame,
            responses: list[dict[str, Any]], findings: list[dict[str, Any]], now: datetime,
            checked: quality.GateResult | None) -> None:
    """Everything of one night in one transaction (all or nothing)."""
    load_id = result.load_id
    with transaction(con):
        if snapshots is not None:
            snap = snapshots.assign(load_id=load_id, run_id=result.run_id)  # noqa: F841 - read by DuckDB
            con.execute("""
                insert into raw.peer_snapshots by name
                select load_id, run_id, response_id, peer_name, peer_group, population, platform, ref, department,
                       account_name, snapshot_date, observed_at, followers, followers_hidden, followers_rounded,
                       fan_count, media_count, recent_media
                from snap""")
            resp = pd.DataFrame(responses).assign(load_id=load_id)  # noqa: F841
            con.execute("insert into raw.peer_responses by name select * from resp")
            if len(media):
                med = media.assign(load_id=load_id)  # noqa: F841
                con.execute("insert into raw.peer_media by name select * from med")
        if findings:
            found = pd.DataFrame([{**f, "run_id": result.run_id, "snapshot_date": day, "found_at": now}  # noqa: F841
                                  for f in findings])
            con.execute("insert into raw.peer_findings by name select run_id, snapshot_date, peer_name, platform, "
                        "ref, error_class, message, found_at from found")
        con.execute("insert into raw.peer_loads values (?, ?, ?, 'committed', ?, ?, ?)",
                    [load_id, result.run_id, day, result.accounts_ok, len(findings), now])
        if checked is not None:
            quality.record_validation(con, checked)


def snapshot(settings: Settings, registry: Registry | None = None, run_id: str = "",
             now: datetime | None = None, progress: fetch.Progress | None = None) -> PeerResult | None:
    """The nightly peer step (fetch, land, gate, load); None when the registry lists no peers.

    Never raises for one account; a broken gate or warehouse raises like the own-account load.
    """
    from ingestion.core.registry import load_registry

    registry = registry or load_registry(settings.accounts)
    if not registry.peers:
        return None
    if progress is not None:
        progress.step("peer snapshot")
    _, result = fetch_peers(settings, registry, run_id, now, progress)
    return load_peers(settings, registry, run_id, result)


def doctor_check(report: Any, settings: Settings, registry: Registry, client: HttpClient) -> None:
    """`socialpulse doctor`: can the app read other Pages' public fields at all?

    Why here: without the app feature "Page Public Metadata Access" (an App Review item) every
    Facebook peer fails every night with the same error; doctor says so once, with the fix, by
    reading the first peer Page exactly as the nightly does. Other failures of one peer account
    (a wrong id, a renamed username) are the nightly's findings, not doctor's.
    """
    from ingestion.core.findings import Severity
    from ingestion.extract.executors import GraphExecutor
    from ingestion.extract.http import ApiError

    pages = [r for r in peer_refs(registry) if r.platform == "facebook"]
    token, _ = _tokens(settings, "facebook")
    if not pages or token is None:
        return
    plan = AccountPlan(platform="peer_facebook", account_id=pages[0].ref, token_env=None,
                       since=date.today(), until=date.today())
    spec = _platform_module("facebook", None).requests_for(plan, FetchContext(as_of=date.today()))[0]
    outcome = GraphExecutor(settings, client).execute([(spec, token)])[0]
    report.count("peer Page probe")
    if isinstance(outcome, ApiError) and outcome.code == 10 and "Page Public Metadata Access" in str(outcome):
        report.add(Severity.WARNING, "peers", f"facebook:{pages[0].ref}",
                   "the app lacks the 'Page Public Metadata Access' feature: no peer Page can be read",
                   "request the feature in Meta App Review (docs/peers.md), or drop the facebook peers")
