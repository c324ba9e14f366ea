"""Fetch: call the platform APIs for a chunk of account plans and land the responses.

The engine works in rounds. Round one holds every account's first calls; each answer may add
follow-ups (the next page, the insights of the posts just listed) to the next round, and transient
or throttled failures are retried in a later round once their own backoff has passed. A call also
waits while its own account's usage is high (per-account usage headers); neither holds back the
other accounts' calls, only app-wide usage slows everyone. The executor packs a round into as few
round trips as the platform allows (Graph batch requests of 50).

Accounts are isolated: an account whose token is expired, whose permission is missing or whose
calls keep failing is recorded as failed, and none of its responses are landed (all or nothing per
account, so the loader never sees half an account). Responses go to the chunk's landing file as
they arrive (`landing.ChunkWriter`, a few batches of answers in memory at a time); only the
accounts that end well are in it when it lands. A retired metric degrades alone: the call is
split to isolate it, it is recorded, and the account still succeeds with the other metrics. Calls
that only mean "no data for this object" (a story with too few viewers) are skipped and counted.

A failure that is not about one account (the API's URL is wrong or down, the token is missing or
expired) would otherwise fail every account alike, slowly and with one message each: `FailFast`
sends the first accounts of a platform ahead, and when they all fail with the same such cause it
stops the platform, skips the rest with that cause and says once which setting fixes it.
Long fetches report their progress (accounts and requests done, pacing waits) to a `Progress`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ingestion.core.platforms import META
from ingestion.core.redact import redact
from ingestion.core.settings import DEFAULT_TOKEN_ENV, Settings
from ingestion.extract import landing
from ingestion.extract.executors import BearerExecutor, GraphExecutor, Outcome
from ingestion.extract.http import APP, RETRYABLE, ApiError, ApiResponse, ErrorClass, HttpClient
from ingestion.extract.plan import AccountPlan
from ingestion.sources import FetchContext, RequestSpec, youtube_auth
from ingestion.sources.by_platform import PLATFORM_MODULES
from ingestion.sources.google_oauth import OAuthError

log = logging.getLogger(__name__)

EXECUTORS = {"graph": GraphExecutor, "youtube": BearerExecutor, "bearer": BearerExecutor}
# The setting that says where each API base is (named in the message when it cannot be reached).
BASE_SETTINGS = {"graph": "graph_url", "youtube_data": "youtube_data_url",
                 "youtube_analytics": "youtube_analytics_url", "snapchat": "snapchat_url"}
# How many accounts of a platform (or of one token) must fail alike before the rest are skipped:
# one could be that account's own trouble, three with the same cause are the setting's.
FAIL_FAST_AFTER = 3


@dataclass
class FetchProgress:
    """How far one chunk's fetch is: sent after every round and before every wait."""

    platform: str
    chunk: str
    accounts: int  # in this chunk
    done: int  # accounts finished (every call answered), failed or skipped
    failed: int  # of `done`: failed or skipped
    requests: int  # calls answered so far (each sub-request of a batch counts)
    paced_s: float  # seconds spent waiting for usage to drop, so far
    waiting_s: float = 0.0  # the engine is about to wait this long ...
    waiting_for: str = ""  # ... for "usage" to drop (pacing) or for a "retry" (backoff)
    in_flight: int = 0  # calls of the round being sent now (a paced round can take minutes)


class Progress:
    """Where long work reports as it goes. This default ignores it all; `socialpulse run`, `ingest`
    and `backfill` pass one that draws it (ingestion/cli/__init__.py), so a long backfill or a paced run is
    never silent."""

    def planned(self, plans: list[AccountPlan]) -> None:
        """The accounts about to be fetched."""

    def fetched(self, event: FetchProgress) -> None:
        """A fetch round finished, or the engine is about to wait."""

    def step(self, text: str) -> None:
        """The next phase began (loading a platform, dbt build, publishing)."""


@dataclass
class FetchResult:
    """What one fetch call did (JSON-able through `to_dict`)."""

    run_id: str
    platform: str
    chunk: str
    accounts_ok: int
    accounts_failed: int
    responses: int
    round_trips: int
    sub_requests: int
    retries: int
    failures: list[dict[str, Any]]
    retired_metrics: list[str]
    # Calls to the OAuth token endpoint (YouTube refresh credentials; 0 with plain access tokens).
    token_refreshes: int = 0
    # Accounts slowed down for their own usage (per-account usage headers above 75 %), and the
    # seconds every call waited for the app-wide usage (X-App-Usage).
    paced_accounts: list[str] = field(default_factory=list)
    app_paced_s: float = 0.0
    # Why this chunk stopped early, once per cause (`FailFast.stops`), with how many accounts it skipped.
    stopped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom and run reports."""
        return dict(self.__dict__)


@dataclass
class _Account:
    plan: AccountPlan
    token: str | None
    # Refreshable token (YouTube refresh credential): `token` is re-read from `tokens` every round.
    tokens: youtube_auth.YouTubeTokens | None = None
    generation: int = 0  # generation of `token` (which one a 401 refers to)
    paced: bool = False  # calls held back for this account's own usage
    requests: int = 0
    skipped: int = 0
    retired: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    # Where the token comes from (its variable, or the refresh credential's label): accounts that
    # share it fail alike when it is bad (FailFast's token scope).
    source: str = ""
    # The error of its first answer when that pointed at the setup (FailFast fails it with this).
    first_error: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        return {
            "platform": self.plan.platform, "account_id": self.plan.account_id, "since": self.plan.since,
            "until": self.plan.until, "status": "failed" if self.error else "ok", "requests": self.requests,
            "skipped_objects": self.skipped, "retired_metrics": sorted(set(self.retired)), "error": self.error,
        }


class Cause(NamedTuple):
    """What a failure says about the setup rather than about one account."""

    kind: str  # "transport" (the host cannot be reached) or "auth" (the token)
    key: str  # equal for failures with the same cause (host and reason; token and error code)
    error_class: str
    reason: str  # what is wrong, for people
    fix: str  # which setting or command fixes it


Scope = tuple[str, str]  # (platform, "transport") or (platform, "token <where the token comes from>")


class FailFast:
    """Stops a platform early when its first accounts all fail the same way (a dead URL, a bad token).

    Two kinds of scope: the platform, for a host that cannot be reached (every account's calls go
    there), and the accounts that read one token (variable or refresh credential), for an auth
    failure (token missing, expired, revoked). The first FAIL_FAST_AFTER accounts of a scope to get
    an answer (or to fail before any call) decide it: all failed with the same such cause -> the
    scope stops, its other accounts are skipped with that cause (recorded like any failure, so
    `status` shows it) and `stops` says once what is wrong and which setting fixes it; anything
    else -> the scope is healthy for the rest of the run. Until a scope is decided only those first
    accounts' calls go out, so a dead token costs three accounts' calls, not eighty.

    One object spans a run's chunks: `socialpulse run` passes one through all of them, so a stopped
    platform's later chunks send nothing. An Airflow fetch task makes its own: each shard decides
    alone, and a task retry tries again.
    """

    def __init__(self, threshold: int = FAIL_FAST_AFTER) -> None:
        self.threshold = threshold
        self._first: dict[Scope, list[tuple[str, Cause | None]]] = {}  # (account id, cause or None), in order
        self._probes: dict[Scope, set[str]] = {}  # accounts sent ahead, not answered yet
        self._seen: set[tuple[str, str]] = set()
        self.stops: dict[Scope, dict[str, Any]] = {}

    @staticmethod
    def scopes(account: _Account) -> tuple[Scope, Scope]:
        """The platform's transport scope and the account's token scope."""
        return (account.plan.platform, "transport"), (account.plan.platform, f"token {account.source}")

    def _decided(self, scope: Scope) -> bool:
        """Stopped, or healthy: enough first outcomes, or one that breaks the pattern."""
        first = [cause for _, cause in self._first.get(scope, [])]
        if scope in self.stops or len(first) >= self.threshold:
            return True
        return any(cause is None or cause[:2] != first[0][:2] for cause in first)

    def stop_for(self, account: _Account) -> dict[str, Any] | None:
        """The stop that covers `account`, if one of its scopes stopped."""
        return next((self.stops[s] for s in self.scopes(account) if s in self.stops), None)

    def admit(self, account: _Account) -> bool:
        """May the account's calls go now? Always once its scopes are decided; before, only the
        first few accounts of each undecided scope go (its probes)."""
        waiting = [s for s in self.scopes(account) if not self._decided(s)]
        if any(len(self._first.get(s, [])) + len(self._probes.get(s, ())) >= self.threshold for s in waiting):
            return False
        for scope in waiting:
            self._probes.setdefault(scope, set()).add(account.plan.account_id)
        return True

    def observe(self, account: _Account, cause: Cause | None) -> list[Scope]:
        """Count the account's first outcome (`cause`: what its failure says about the setup; None:
        an answer, or a failure of its own). Returns the scopes this stops."""
        key = (account.plan.platform, account.plan.account_id)
        if key in self._seen:
            return []
        self._seen.add(key)
        stopped = []
        for scope in self.scopes(account):
            self._probes.get(scope, set()).discard(account.plan.account_id)
            first = self._first.setdefault(scope, [])
            if self._decided(scope):
                continue
            kind = "transport" if scope[1] == "transport" else "auth"
            first.append((account.plan.account_id, cause if cause is not None and cause.kind == kind else None))
            if len(first) == self.threshold and all(c is not None and c[:2] == first[0][1][:2] for _, c in first):
                cause0 = first[0][1]
                self.stops[scope] = {
                    "platform": scope[0], "scope": scope[1], "error_class": cause0.error_class,
                    "reason": cause0.reason, "fix": cause0.fix, "first_accounts": [a for a, _ in first],
                }
                stopped.append(scope)
        return stopped


def _response_id(run_id: str, spec: RequestSpec) -> str:
    return hashlib.sha1(f"{run_id}|{spec.key()}".encode()).hexdigest()[:20]


def _record(run_id: str, settings: Settings, spec: RequestSpec, resp: ApiResponse) -> dict[str, Any]:
    return {
        "response_id": _response_id(run_id, spec),
        "platform": spec.platform,
        "account_id": spec.account_id,
        "endpoint": spec.endpoint,
        "object_type": spec.object_type,
        "object_id": spec.object_id or spec.account_id,
        "url": resp.url,
        "params": resp.params,
        "api_version": settings.graph_api_version if spec.base == "graph" else spec.base,
        "http_status": resp.http_status,
        "fetched_at": resp.fetched_at,
        "usage_headers": resp.usage_headers,
        "body": resp.body,
    }


def fetch_chunk(
    settings: Settings, run_id: str, chunk: str, plans: list[AccountPlan], ctx: FetchContext | None = None,
    progress: Progress | None = None, fail_fast: FailFast | None = None,
) -> FetchResult:
    """Fetch every plan of one platform chunk and land the result.

    `fail_fast`: shared by the chunks of one run (a platform stopped in one chunk sends nothing in
    the next); default: one for this chunk alone. `progress` hears about every round and wait.
    """
    platforms = {p.platform for p in plans}
    if len(platforms) > 1:
        raise ValueError(f"a chunk holds one platform, got {sorted(platforms)}")
    platform = platforms.pop() if platforms else "none"
    module = PLATFORM_MODULES.get(platform)
    ctx = ctx or FetchContext(as_of=max((p.until for p in plans), default=None))
    fail_fast = fail_fast if fail_fast is not None else FailFast()
    accounts = {}
    for plan in plans:
        token = settings.token_for(plan.token_env, plan.platform)
        accounts[plan.account_id] = _Account(plan, token.get_secret_value() if token else None,
                                             source=plan.token_env or DEFAULT_TOKEN_ENV.get(plan.platform, "?"))
    secrets = tuple(a.token for a in accounts.values() if a.token)
    client = HttpClient(timeout_s=settings.http_timeout_s, max_retries=settings.http_max_retries, secrets=secrets)
    tokens = None
    stops_before = set(fail_fast.stops)
    sink = landing.ChunkWriter(settings.landing_dir, run_id, platform, chunk)
    try:
        try:
            if platform == "youtube":
                tokens = _youtube_tokens(settings, client, accounts)
            if module is not None:
                _Rounds(settings, run_id, chunk, module, ctx, accounts, client, fail_fast, progress or Progress(),
                        sink).run()
        finally:
            client.close()
        if tokens is not None:
            secrets = tuple(dict.fromkeys((*secrets, *tokens.secrets())))
        statuses = [a.status() for a in accounts.values()]
        for status in statuses:  # the error travels into the landing status file too
            if status["error"]:
                status["error"] = {**status["error"],
                                   "message": redact(str(status["error"].get("message", "")), secrets)}
        landed = sink.commit([a.plan.account_id for a in accounts.values() if a.error is None], statuses)
    finally:
        sink.discard()
    failures = [{"account_id": s["account_id"], **s["error"]} for s in statuses if s["error"]]
    stopped = []
    for scope, stop in fail_fast.stops.items():
        skipped = sum(1 for f in failures if f.get("skipped") == list(scope))
        if skipped or scope not in stops_before and scope[0] == platform:
            stopped.append({**stop, "reason": redact(stop["reason"], secrets), "skipped": skipped})
    return FetchResult(
        run_id=run_id, platform=platform, chunk=chunk,
        accounts_ok=sum(1 for s in statuses if not s["error"]), accounts_failed=len(failures),
        responses=landed, round_trips=client.stats.round_trips,
        sub_requests=sum(a.requests for a in accounts.values()), retries=client.stats.retries,
        failures=failures, retired_metrics=sorted({m for a in accounts.values() for m in a.retired}),
        token_refreshes=tokens.refreshes if tokens is not None else 0,
        paced_accounts=sorted({a.plan.account_id for a in accounts.values() if a.paced}
                              | {k for k in client.stats.paced_s if k in accounts}),
        app_paced_s=round(client.stats.paced_s.get(APP, 0.0), 3),
        stopped=stopped,
    )


def _missing_token(account: _Account) -> tuple[dict[str, Any], Cause]:
    """The failure of an account whose token variable is not set, naming the variable."""
    name = account.source
    reason = f"no token configured: {name} is not set"
    if account.plan.platform == "youtube":
        fix = f"set {name}, or store refresh credentials with `socialpulse youtube authorize`"
    else:
        fix = f"set {name} (see .env.example; `socialpulse doctor` checks it)"
    return {"error_class": str(ErrorClass.AUTH), "message": reason}, Cause(
        "auth", f"missing {name}", str(ErrorClass.AUTH), reason, fix)


def _cause(settings: Settings, account: _Account, spec: RequestSpec, error: ApiError) -> Cause | None:
    """What a failed call says about the setup (None: about this account, or nothing yet)."""
    if error.transport == "unreachable" and spec.base in BASE_SETTINGS:
        name = BASE_SETTINGS[spec.base]
        return Cause("transport", str(error), str(error.error_class), str(error),
                     f"check SOCIALPULSE_{name.upper()} (now {getattr(settings, name)}) and the network")
    if error.error_class is not ErrorClass.AUTH:
        return None
    name = account.source
    if account.tokens is not None:
        fix = youtube_auth.REAUTHORIZE
    elif account.plan.platform == "youtube":
        fix = (f"put a fresh access token in {name} (they last about an hour: "
               f"`export {name}=$(socialpulse youtube access-token)`), or store refresh credentials with "
               "`socialpulse youtube authorize`")
    elif account.plan.platform in META:
        fix = f"renew the token in {name} (`socialpulse token exchange`), then check it with `socialpulse doctor`"
    else:
        fix = f"renew the token in {name}"
    return Cause("auth", f"{error.http_status}/{error.code}/{error.subcode}", str(error.error_class),
                 f"{name} was refused: {error}", fix)


def _youtube_tokens(settings: Settings, client: HttpClient,
                    accounts: dict[str, _Account]) -> youtube_auth.YouTubeTokens | None:
    """Attach refresh credentials to the channels they cover (their plain token is then unused)."""
    try:
        tokens = youtube_auth.YouTubeTokens.from_settings(settings, client)
    except OAuthError as error:  # a broken secrets file fails the channels, never the run
        message = redact(f"YouTube credentials unusable: {error}")
        for account in accounts.values():
            account.error = {"error_class": str(ErrorClass.AUTH), "message": message, "endpoint": "oauth_token"}
        log.warning("%s", message)
        return None
    for account in accounts.values():
        if (credential := tokens.credential_for(account.plan.account_id)) is not None:
            account.tokens, account.token, account.source = tokens, None, credential.label
    return tokens


def _refresh_tokens(accounts: dict[str, _Account], queued) -> None:
    """Give every account with queued calls a valid token from its refresh credential (cached)."""
    for account_id in dict.fromkeys(item[0].account_id for item in queued):
        account = accounts[account_id]
        if account.tokens is None or account.error is not None:
            continue
        try:
            account.token, account.generation = account.tokens.token(account_id)
        except ApiError as error:
            account.error = {**error.summary(), "endpoint": "oauth_token"}
            log.warning("%s:%s has no access token: %s", account.plan.platform, account_id, error)


def _ready_split(queue: list[tuple[RequestSpec, int, float]], client: HttpClient
                 ) -> tuple[list[tuple[RequestSpec, int]], list[tuple[RequestSpec, int, float]], float]:
    """(calls that may go now, calls that wait, when the next waiting one may go: monotonic).

    A call waits for its own retry backoff and for its own account's usage slowdown; the app-wide
    slowdown is applied when sending (it holds everyone alike). So a throttled or hot account's
    calls never hold back the next round of the other accounts.
    """
    now = time.monotonic()
    account_wait: dict[str, float] = {}
    ready, waiting, next_at = [], [], float("inf")
    for spec, attempt, not_before in queue:
        if spec.account_id not in account_wait:
            account_wait[spec.account_id] = client.own_pause_remaining(spec.account_id)
        at = max(not_before, now + account_wait[spec.account_id])
        if at <= now:
            ready.append((spec, attempt))
        else:
            waiting.append((spec, attempt, not_before))
            next_at = min(next_at, at)
    return ready, waiting, next_at


class _Rounds:
    """The round loop of one chunk (see the module docstring), with FailFast and progress."""

    def __init__(self, settings, run_id, chunk, module, ctx, accounts: dict[str, _Account], client: HttpClient,
                 fail_fast: FailFast, progress: Progress, sink: landing.ChunkWriter) -> None:
        self.settings, self.run_id, self.chunk, self.module, self.ctx = settings, run_id, chunk, module, ctx
        self.accounts, self.client, self.fail_fast, self.progress = accounts, client, fail_fast, progress
        self.sink = sink  # where each answer's record goes as it arrives
        self.executor = EXECUTORS[module.API](settings, client)
        # (call, attempt, not before: monotonic seconds) -- retries carry their own backoff
        self.queue: list[tuple[RequestSpec, int, float]] = []
        self.held: list[_Account] = []  # not sent yet: their scope is still being probed (FailFast)
        self.waited_s = 0.0  # this loop's own waits for an account's usage to drop

    def run(self) -> None:
        for account in self.accounts.values():
            if account.error is None and self.fail_fast.stop_for(account) is not None:  # stopped in an earlier chunk
                self._skip(account)
            elif account.error is None and account.token is None and account.tokens is None:
                account.error, cause = _missing_token(account)
                self._observe(account, cause)
            elif account.error is not None:  # no usable credentials (YouTube secrets file)
                self._observe(account, None)
            else:
                self.held.append(account)
        self._report()  # the platform has started (its first round may take a while)
        while True:
            self._release()
            self.queue = [item for item in self.queue if self.accounts[item[0].account_id].error is None]
            if not self.queue:
                if not self.held:
                    break
                continue
            round_items, self.queue, next_at = _ready_split(self.queue, self.client)
            for spec, _, _ in self.queue:
                account = self.accounts[spec.account_id]
                if not account.paced and self.client.own_pause_remaining(spec.account_id) > 0:
                    account.paced = True
            if not round_items:
                wait = max(0.0, next_at - time.monotonic())
                usage = any(self.client.own_pause_remaining(spec.account_id) > 0 for spec, _, _ in self.queue)
                self._report(wait, "usage" if usage else "retry")
                time.sleep(wait)
                self.waited_s += wait if usage else 0.0
                continue
            self._round(round_items)
            self._report()
        self._report()

    def _release(self) -> None:
        """Send the held accounts whose scopes allow it (skip those whose scope stopped)."""
        still = []
        for account in self.held:
            if account.error is not None:
                continue
            if self.fail_fast.stop_for(account) is not None:
                self._skip(account)
            elif self.fail_fast.admit(account):
                specs = self.module.requests_for(account.plan, self.ctx)
                if not specs:
                    self._observe(account, None)
                self.queue.extend((spec, 0, 0.0) for spec in specs)
            else:
                still.append(account)
        if still and not self.queue:  # never wait for probes that cannot come (defensive)
            for account in still:
                self.queue.extend((spec, 0, 0.0) for spec in self.module.requests_for(account.plan, self.ctx))
            still = []
        self.held = still

    def _round(self, round_items: list[tuple[RequestSpec, int]]) -> None:
        accounts = self.accounts
        if self.client.pause_remaining() > 0:  # the whole round waits for the app's usage to drop
            self._report(self.client.pause_remaining(), "usage", in_flight=round_items)
        _refresh_tokens(accounts, round_items)
        for account_id in dict.fromkeys(spec.account_id for spec, _ in round_items):
            if accounts[account_id].error is not None:  # its refresh credential was refused
                self._observe(accounts[account_id], _credential_cause(accounts[account_id]))
        round_items = [(spec, attempt) for spec, attempt in round_items if accounts[spec.account_id].error is None]
        if not round_items:
            return
        used = {spec.account_id: accounts[spec.account_id].generation for spec, _ in round_items}
        self._report(in_flight=round_items)
        sends = [(spec, accounts[spec.account_id].token) for spec, _ in round_items]
        # Outcomes are taken in call order as they arrive, so only a few batches' answers are in
        # memory at a time; each answer is handled exactly as if the round had been answered whole.
        arrived: dict[int, Outcome] = {}
        taken = 0
        for indexes, results in self.executor.stream(sends):
            arrived.update(zip(indexes, results, strict=True))
            while taken in arrived:
                self._take(round_items[taken], arrived.pop(taken), used)
                taken += 1

    def _take(self, item: tuple[RequestSpec, int], outcome: Outcome, used: dict[str, int]) -> None:
        """Handle one call's outcome: land its record and queue its follow-ups, or decide about the error."""
        spec, attempt = item
        account = self.accounts[spec.account_id]
        if account.error is not None:
            return
        account.requests += 1
        if isinstance(outcome, ApiResponse):
            self._observe(account, None)
            self.sink.add(spec.account_id, _record(self.run_id, self.settings, spec, outcome), outcome.body_text)
            self.queue.extend((follow, 0, 0.0) for follow in self.module.follow_ups(spec, outcome.body, self.ctx))
            return
        if _renewed_after_401(account, outcome, used[spec.account_id]):
            if account.error is not None:  # the refresh was refused
                self._observe(account, _credential_cause(account))
            else:
                self.queue.append((spec, attempt, 0.0))  # same attempt: the token was the problem, not the call
            return
        cause = _cause(self.settings, account, spec, outcome)
        if cause is not None and account.first_error is None:
            account.first_error = {**outcome.summary(), "endpoint": spec.endpoint}
        retry, delay = _handle_error(account, spec, attempt, outcome, self.client, self.settings.http_max_retries)
        not_before = time.monotonic() + delay
        self.queue.extend((again, tries, not_before) for again, tries in retry)
        self._observe(account, cause)

    def _observe(self, account: _Account, cause: Cause | None) -> None:
        """Count an account's first outcome; when that stops a scope, end its accounts now."""
        for scope in self.fail_fast.observe(account, cause):
            stop = self.fail_fast.stops[scope]
            log.warning("%s: the first %d accounts%s failed alike, the others are skipped: %s. Fix: %s",
                        stop["platform"], len(stop["first_accounts"]),
                        "" if scope[1] == "transport" else f" using {scope[1].removeprefix('token ')}",
                        stop["reason"], stop["fix"])
            for other in self.accounts.values():
                if other.error is None and self.fail_fast.stop_for(other) is stop:
                    if other.first_error is not None:
                        other.error = other.first_error
                    else:
                        self._skip(other)

    def _skip(self, account: _Account) -> None:
        stop = self.fail_fast.stop_for(account)
        assert stop is not None
        scope = [stop["platform"], stop["scope"]]
        account.error = {"error_class": stop["error_class"], "skipped": scope,
                         "message": f"skipped: {stop['reason']} (the first {len(stop['first_accounts'])} "
                                    f"accounts failed alike; fix: {stop['fix']})"}

    def _report(self, waiting_s: float = 0.0, waiting_for: str = "",
                in_flight: list[tuple[RequestSpec, int]] = ()) -> None:
        pending = ({spec.account_id for spec, _, _ in self.queue} | {a.plan.account_id for a in self.held}
                   | {spec.account_id for spec, _ in in_flight})
        finished = [a for a in self.accounts.values() if a.error is not None or a.plan.account_id not in pending]
        platform = next(iter(self.accounts.values())).plan.platform
        self.progress.fetched(FetchProgress(
            platform=platform, chunk=self.chunk, accounts=len(self.accounts), done=len(finished),
            failed=sum(1 for a in finished if a.error is not None),
            requests=sum(a.requests for a in self.accounts.values()),
            paced_s=round(self.waited_s + sum(self.client.stats.paced_s.values()), 3),
            waiting_s=round(waiting_s, 3), waiting_for=waiting_for, in_flight=len(in_flight)))


def _credential_cause(account: _Account) -> Cause | None:
    """A refused refresh credential: the same cause for every channel it covers."""
    error = account.error or {}
    if error.get("error_class") != str(ErrorClass.AUTH):
        return None
    return Cause("auth", f"oauth {error.get('http_status')}", str(ErrorClass.AUTH), str(error.get("message")),
                 youtube_auth.REAUTHORIZE)


def _renewed_after_401(account: _Account, error: ApiError, generation: int) -> bool:
    """A refreshable token was refused (401): refresh it once per run and retry the call."""
    if account.tokens is None or error.error_class is not ErrorClass.AUTH or error.http_status != 401:
        return False
    try:
        return account.tokens.refresh_after_401(account.plan.account_id, generation)
    except ApiError as refused:
        account.error = {**refused.summary(), "endpoint": "oauth_token"}
        log.warning("%s:%s token refresh failed: %s", account.plan.platform, account.plan.account_id, refused)
        return True  # handled: the account has failed


def _handle_error(account: _Account, spec: RequestSpec, attempt: int, error: ApiError, client: HttpClient,
                  max_retries: int) -> tuple[list[tuple[RequestSpec, int]], float]:
    """Decide what a failed call means: retry later, split, skip, or fail the account."""
    if error.error_class is ErrorClass.RETIRED_METRIC:
        metrics = spec.metrics()
        if len(metrics) > 1:  # isolate the retired metric: one call per metric, once
            return [(spec.with_metrics([m]), attempt) for m in metrics], 0.0
        account.retired.extend(metrics or ["?"])
        log.warning("%s metric %s refused as retired/invalid: %s", spec.platform, metrics, error)
        return [], 0.0
    if error.code is not None and error.code in spec.tolerated_codes:
        account.skipped += 1
        return [], 0.0
    if error.error_class in RETRYABLE and attempt < max_retries:
        return [(spec, attempt + 1)], client.backoff(attempt, error)
    account.error = {**error.summary(), "endpoint": spec.endpoint}
    log.warning("%s:%s failed on %s: %s", spec.platform, spec.account_id, spec.endpoint, error.summary())
    return [], 0.0


def chunk_plans(plans: list[AccountPlan], size: int) -> list[list[AccountPlan]]:
    """Split plans into per-platform chunks of at most `size` accounts (Airflow maps over these)."""
    by_platform: dict[str, list[AccountPlan]] = {}
    for plan in plans:
        by_platform.setdefault(plan.platform, []).append(plan)
    return [
        items[i : i + size] for _, items in sorted(by_platform.items()) for i in range(0, len(items), size)
    ]
