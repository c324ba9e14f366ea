"""`socialpulse doctor`: everything the nightly run needs, checked now, with the fix for each problem.

Checks, in order (a failed step skips the steps that depend on it):
1. settings   the `SOCIALPULSE_*` environment parses; URLs and the Graph API version make sense;
2. registry   `load_registry` accepts the file (one finding per bad line, with its line number);
3. tokens     every token the registry uses is set; Meta tokens through `/debug_token` (validity,
              expiry, data-access expiry, granted vs needed permissions, see `scopes.SCOPE_NEEDS`);
              YouTube credentials by refreshing them / one call;
4. accounts   one cheap call per active account (`{id}?fields=id` in Graph batches of 50;
              YouTube `channels.list` 50 ids per call plus one Analytics call per channel for
              ownership), through the shared, rate-limit-aware `HttpClient`;
5. warehouse  exists or can be created, is writable, and no other process holds it open;
6. bi         the published copy's folder is writable and the copy is fresh; publish not blocked
              (the last mart gate passed and no future coverage waits to fail it);
7. airflow    (inside Airflow only) the pools exist with the right sizes; optional connections.

Exit code 1 when any finding is an error (the nightly run would fail, at least for one account),
else 0. `--warn-days N` (default 14) turns upcoming token or data-access expiry into warnings.
Token checks are appended to `raw.tokens` when the warehouse is writable (`fct_account_health`
and `socialpulse status` read them). Nothing secret is printed: findings are redacted with every
token known to the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingestion.core.days import platform_today
from ingestion.core.findings import Finding, Severity, sort_findings
from ingestion.core.platforms import SUPPORTED
from ingestion.core.registry import Account, Registry, RegistryError, load_registry
from ingestion.core.settings import DEFAULT_TOKEN_ENV, Settings, load_settings
from ingestion.extract.http import RETRYABLE, ApiError, ApiResponse, ErrorClass, HttpClient
from ingestion.onboarding import youtube_oauth
from ingestion.onboarding.discover import REVIEW_COMMENT
from ingestion.onboarding.graph import make_client
from ingestion.onboarding.scopes import YOUTUBE_SCOPES, missing_scopes, needed_scopes
from ingestion.onboarding.tokens import (
    SETUP_META,
    TokenCheck,
    TokenInfo,
    evaluate_google_scopes,
    evaluate_meta_token,
    inspect_token,
    record_token_checks,
)
from ingestion.sources import google_oauth

DEFAULT_WARN_DAYS = 14
FETCHED_PLATFORMS = SUPPORTED
PROJECT_ROOT = Path(__file__).resolve().parents[2]
POOLS_FILE = PROJECT_ROOT / "dags" / "dag_support" / "pools.json"
WRITER_POOL = "duckdb_writer"
ALERTS_CONNECTION = "socialpulse_alerts"
# Graph API versions and the day Meta stops serving them (PLATFORM_APIS.md §1).
GRAPH_VERSION_END: dict[str, date] = {
    "v20.0": date(2026, 9, 24), "v21.0": date(2027, 1, 21), "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8), "v24.0": date(2028, 2, 18), "v25.0": date(2028, 7, 29),
}
BI_STALE_AFTER = timedelta(days=2)
MIN_FREE_BYTES = 1 << 30
_LINE = re.compile(r" line (\d+)")

AirflowCli = Callable[[list[str]], tuple[int, str]]


@dataclass
class DoctorReport:
    """All findings of one doctor run, and what was checked."""

    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    token_checks: list[TokenCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def exit_code(self) -> int:
        """1 when the nightly run would fail, else 0."""
        return 1 if self.errors else 0

    def add(self, severity: Severity, check: str, subject: str, problem: str, fix: str = "") -> None:
        self.findings.append(Finding(severity, check, subject, problem, fix))

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "checked": self.checked,
            "findings": [f.__dict__ | {"severity": str(f.severity)} for f in sort_findings(self.findings)],
            "notes": self.notes,
        }


# -- 1. settings -----------------------------------------------------------------------------------


def _env_name(loc: tuple[Any, ...]) -> str:
    return "SOCIALPULSE_" + "_".join(str(p) for p in loc).upper()


def check_settings(report: DoctorReport, env: dict[str, str] | os._Environ,
                   now: datetime | None = None) -> Settings | None:
    """Parse the environment; a broken variable stops the doctor (everything depends on it).

    `now` is the clock: Graph API versions end on Meta's (Pacific) calendar day.
    """
    try:
        settings = load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = _env_name(tuple(err["loc"]))
            report.add(Severity.ERROR, "settings", name, f"{err['msg']}",
                       f"fix or unset {name} (every SOCIALPULSE_* setting is optional)")
        return None
    report.count("setting")
    for label, url in (("SOCIALPULSE_GRAPH_URL", settings.graph_url),
                       ("SOCIALPULSE_YOUTUBE_DATA_URL", settings.youtube_data_url),
                       ("SOCIALPULSE_YOUTUBE_ANALYTICS_URL", settings.youtube_analytics_url)):
        if not url.startswith(("https://", "http://")):
            report.add(Severity.ERROR, "settings", label, f"not an http(s) URL: {url!r}",
                       f"unset {label} for the production default, or give a full URL")
        elif url.startswith("http://") and not re.match(r"http://(127\.0\.0\.1|localhost|sandbox)[:/]", url):
            report.add(Severity.WARNING, "settings", label, "plain http to a remote host: tokens travel in the clear",
                       "use https")
    version = settings.graph_api_version
    if not re.fullmatch(r"v\d+\.\d+", version):
        report.add(Severity.ERROR, "settings", "SOCIALPULSE_GRAPH_API_VERSION", f"not a Graph API version: {version!r}",
                   "use the form v25.0")
    elif version in GRAPH_VERSION_END:
        end = GRAPH_VERSION_END[version]
        today = platform_today("facebook", now)
        if end <= today:
            report.add(Severity.ERROR, "settings", "SOCIALPULSE_GRAPH_API_VERSION",
                       f"Graph API {version} is no longer served (since {end})",
                       "set SOCIALPULSE_GRAPH_API_VERSION to a current version (PLATFORM_APIS.md §1)")
        elif end - today <= timedelta(days=90):
            report.add(Severity.WARNING, "settings", "SOCIALPULSE_GRAPH_API_VERSION",
                       f"Graph API {version} stops on {end}", "plan the upgrade to a newer version")
    for name in ("SOCIALPULSE_META_TOKEN", "SOCIALPULSE_YOUTUBE_TOKEN"):
        _check_token_text(report, name, env.get(name))
    return settings


def _check_token_text(report: DoctorReport, name: str, value: str | None) -> None:
    """Copy-paste damage that makes a good token fail: quotes, spaces, a 'Bearer ' prefix."""
    if not value:
        return
    if value != value.strip() or value[:1] in "\"'" or value[-1:] in "\"'" or value.lower().startswith("bearer "):
        report.add(Severity.ERROR, "settings", name,
                   "the token has surrounding spaces, quotes or a 'Bearer ' prefix",
                   f"store only the token itself in {name}")


# -- 2. registry -----------------------------------------------------------------------------------


def _registry_fix(message: str) -> str:
    text = message.lower()
    if "not valid yaml" in text:
        return "fix the YAML syntax on that line (indentation, a missing quote or colon)"
    if "cannot read the registry" in text:
        return ("set SOCIALPULSE_ACCOUNTS to the registry file, or create it: "
                "socialpulse accounts discover --organisation NAME --population N")
    if "duplicate account" in text:
        return "remove one of the two entries (keep the one with your hand edits)"
    if "linked account" in text:
        return "register the linked account (socialpulse accounts discover) or delete the `linked:` line"
    if "malformed" in text:
        return ("use the platform's own id: Facebook/Instagram numeric ids, YouTube 'UC' + 22 characters; "
                "`socialpulse accounts discover --dry-run` lists the ids the token can read")
    if "extra inputs are not permitted" in text:
        return ("remove or rename the key; allowed: platform, id, name, department, audience, active_from, "
                "active_until, linked, token_env")
    if "field required" in text:
        return "add the missing field"
    if "input should be" in text:
        return "use one of the allowed values shown"
    if "token_env" in text:
        return "token_env names an environment variable (e.g. SOCIALPULSE_PAGE_TOKEN_123); never paste a token here"
    return "edit that line of the registry"


def check_registry(report: DoctorReport, settings: Settings) -> Registry | None:
    """Validate the registry; one finding per problem line."""
    path = settings.accounts
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        for line in str(exc).splitlines():
            if line.strip() in ("", "invalid registry:"):
                continue
            match = _LINE.search(line)
            subject = f"{path.name}:{match.group(1)}" if match else str(path)
            problem = line.split(": ", 1)[1] if line.startswith(str(path)) and ": " in line else line
            report.add(Severity.ERROR, "registry", subject, problem, _registry_fix(line))
        return None
    report.count("registry account", len(registry.accounts))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    guessed = text.count(REVIEW_COMMENT)
    if guessed:
        report.add(Severity.WARNING, "registry", str(path.name),
                   f"{guessed} guessed departments still marked '# {REVIEW_COMMENT}'",
                   "check each department (and add the audience), then delete the review comments")
    for notice in registry.organisation.notices:
        report.add(Severity.INFO, "registry", f"{path.name}: organisation", notice,
                   "add the figure to the organisation section (SCB publishes both per municipality)")
    for account in registry.accounts:
        if account.platform == "snapchat":
            report.add(Severity.INFO, "registry", f"snapchat:{account.id}",
                       "Snapchat accounts are registered but not fetched yet (allowlist-only API)")
    return registry


def account_lines(path: Path) -> dict[tuple[str, str], int]:
    """(platform, id) -> the 1-based line of the account's entry in the registry file."""
    from ruamel.yaml import YAML

    try:
        doc = YAML().load(path.read_text(encoding="utf-8"))
    except Exception:  # a registry that load_registry accepted parses; this is best effort only
        return {}
    out = {}
    for item in (doc or {}).get("accounts") or []:
        if hasattr(item, "lc"):
            out[(str(item.get("platform")), str(item.get("id")))] = item.lc.line + 1
    return out


def active_accounts(registry: Registry, today: date, lookback_days: int) -> list[Account]:
    """Accounts the next nightly run fetches (supported platform, active inside its window)."""
    first = today - timedelta(days=lookback_days)
    return [a for a in registry.accounts if a.platform in FETCHED_PLATFORMS
            and (a.active_from is None or a.active_from <= today)
            and (a.active_until is None or a.active_until >= first)]


# -- 3. tokens -------------------------------------------------------------------------------------


@dataclass
class TokenGroup:
    """The accounts that share one token reference (an env var name)."""

    ref: str
    kind: str  # meta | youtube
    accounts: list[Account] = field(default_factory=list)
    token: str | None = field(default=None, repr=False)
    info: TokenInfo | None = None
    usable: bool = False  # valid enough to try the accounts with it
    missing: set[str] = field(default_factory=set)

    @property
    def platforms(self) -> set[str]:
        return {a.platform for a in self.accounts}


def token_groups(accounts: list[Account], env: dict[str, str] | os._Environ) -> list[TokenGroup]:
    groups: dict[str, TokenGroup] = {}
    for account in accounts:
        ref = account.token_env or DEFAULT_TOKEN_ENV[account.platform]
        kind = "youtube" if account.platform == "youtube" else "meta"
        group = groups.setdefault(f"{kind}:{ref}", TokenGroup(ref, kind, token=env.get(ref) or None))
        group.accounts.append(account)
    return list(groups.values())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_meta_tokens(report: DoctorReport, settings: Settings, groups: list[TokenGroup], client: HttpClient,
                      now: datetime, warn_days: int) -> None:
    meta = [g for g in groups if g.kind == "meta"]
    for group in meta:
        if not group.token:
            report.add(Severity.ERROR, "token", group.ref,
                       f"not set; {_plural(len(group.accounts), 'account')} use it",
                       f"set {group.ref} in the environment of the nightly run (docker-compose.yml / Airflow "
                       f"worker) to a system-user token ({SETUP_META})")

    def inspect(group: TokenGroup) -> tuple[TokenGroup, TokenInfo | ApiError]:
        try:
            return group, inspect_token(client, settings, group.token or "")
        except ApiError as error:
            return group, error

    todo = [g for g in meta if g.token]
    with ThreadPoolExecutor(max_workers=max(1, min(settings.fetch_concurrency, len(todo) or 1))) as pool:
        results = list(pool.map(inspect, todo))
    for group, outcome in results:
        report.count("token")
        if isinstance(outcome, ApiError):
            report.add(Severity.WARNING, "token", group.ref, f"could not be checked: {outcome}",
                       "run `socialpulse doctor` again; if it persists, check SOCIALPULSE_GRAPH_URL and the network")
            group.usable = True  # unknown: still try its accounts
            continue
        info = outcome
        group.info = info
        findings = evaluate_meta_token(group.ref, info, group.platforms, now=now, warn_days=warn_days,
                                       accounts=len(group.accounts))
        report.findings.extend(findings)
        group.usable = info.is_valid
        group.missing = set(missing_scopes(set(info.scopes), group.platforms)) if info.is_valid else set()
        if info.type == "PAGE":
            group.missing.discard("business_management")
        for platform in sorted(group.platforms):
            report.token_checks.append(TokenCheck(
                token_ref=group.ref, platform=platform, checked_at=now, is_valid=info.is_valid,
                expires_at=info.expires_at, data_access_expires_at=info.data_access_expires_at,
                scopes=list(info.scopes),
                missing_scopes=sorted(missing_scopes(set(info.scopes), {platform})) if info.is_valid else [],
            ))


@dataclass
class YouTubeCredential:
    ref: str
    access_token: str = field(repr=False)
    channels: set[str] = field(default_factory=set)


def check_youtube_tokens(report: DoctorReport, settings: Settings, groups: list[TokenGroup], client: HttpClient,
                         now: datetime, secrets_file: Path | None) -> list[YouTubeCredential]:
    """Refresh every stored credential (scopes, revocation) and find a token for each group."""
    youtube = [g for g in groups if g.kind == "youtube"]
    credentials: list[YouTubeCredential] = []
    path = google_oauth.secrets_path(secrets_file)
    data = None
    if youtube or path.exists():
        try:
            data = google_oauth.load_secrets(path)
        except google_oauth.OAuthError as error:
            report.add(Severity.ERROR, "token", str(path), str(error),
                       "run `socialpulse youtube authorize` again (docs/setup-youtube.md)")
    if data:
        if not youtube_oauth.file_is_private(path):
            report.add(Severity.ERROR, "token", str(path), "the YouTube secrets file is readable by other users",
                       f"chmod 600 {path}")
        try:
            oauth = google_oauth.client_of(data)
        except google_oauth.OAuthError as error:
            report.add(Severity.ERROR, "token", str(path), str(error), "run `socialpulse youtube authorize`")
            oauth = None
        for credential in data.get("credentials", []) if oauth else []:
            label = f"{path.name}:{credential.get('channel_id') or credential.get('title') or '?'}"
            report.count("token")
            try:
                answer = google_oauth.refresh_access_token(client, oauth, str(credential.get("refresh_token", "")))
            except ApiError as error:
                _refresh_refused(report, label, error, now)
                continue
            granted = set(str(answer.get("scope", "")).split()) or set(credential.get("scopes") or [])
            report.findings.extend(evaluate_google_scopes(label, granted))
            channels = {str(c) for c in [credential.get("channel_id"), *(credential.get("channels") or [])] if c}
            credentials.append(YouTubeCredential(label, str(answer["access_token"]), channels))
            report.token_checks.append(TokenCheck(
                label, "youtube", now, True, scopes=sorted(granted),
                missing_scopes=sorted(s for s in YOUTUBE_SCOPES if s not in granted)))
    if settings.youtube_refresh_token is not None:
        credentials.extend(_env_youtube_credential(report, settings, client, now))
    for group in youtube:
        ids = {a.id for a in group.accounts}
        covering = [c for c in credentials if c.channels & ids or "*" in c.channels]
        uncovered = {i for i in ids if not any(i in c.channels or "*" in c.channels for c in credentials)}
        if covering and not uncovered:
            # The nightly run mints access tokens from these refresh credentials (the variable, if
            # set, is not used for these channels): check the channels with one of them.
            group.token = covering[0].access_token
            group.usable = True
            continue
        if group.token:
            group.usable = True
            continue
        report.add(Severity.ERROR, "token", group.ref,
                   f"not set, and no refresh token covers the {_plural(len(uncovered), 'YouTube channel')} "
                   "using it",
                   "authorise the channel owner once (socialpulse youtube authorize): the nightly run then mints "
                   "its access tokens itself (docs/setup-youtube.md)")
        if credentials:
            group.token = (covering or credentials)[0].access_token
            group.usable = True
    return credentials


def _refresh_refused(report: DoctorReport, label: str, error: ApiError, now: datetime) -> None:
    """Report a YouTube refresh token the token endpoint refused (auth) or could not answer."""
    if error.error_class is ErrorClass.AUTH:
        report.add(Severity.ERROR, "token", label, f"refresh token refused ({error}): revoked, or expired "
                   "after 7 days because the consent screen is in 'Testing'",
                   "publish the consent screen ('In production'), then socialpulse youtube authorize "
                   "(docs/setup-youtube.md)")
        report.token_checks.append(TokenCheck(label, "youtube", now, False))
    else:
        report.add(Severity.WARNING, "token", label, f"could not be checked: {error}",
                   "run `socialpulse doctor` again")


def _env_youtube_credential(report: DoctorReport, settings: Settings, client: HttpClient,
                            now: datetime) -> list[YouTubeCredential]:
    """Check SOCIALPULSE_YOUTUBE_REFRESH_TOKEN (one credential for every channel) like a stored one."""
    label = "SOCIALPULSE_YOUTUBE_REFRESH_TOKEN"
    report.count("token")
    if not settings.youtube_client_id or settings.youtube_client_secret is None:
        report.add(Severity.ERROR, "token", label, "set without SOCIALPULSE_YOUTUBE_CLIENT_ID / "
                   "SOCIALPULSE_YOUTUBE_CLIENT_SECRET", "set both from the OAuth client (docs/setup-youtube.md)")
        return []
    oauth = google_oauth.OAuthClient(settings.youtube_client_id, settings.youtube_client_secret.get_secret_value())
    try:
        answer = google_oauth.refresh_access_token(client, oauth, settings.youtube_refresh_token.get_secret_value(),
                                                    url=settings.google_token_url)
    except ApiError as error:
        _refresh_refused(report, label, error, now)
        return []
    granted = set(str(answer.get("scope", "")).split())
    report.findings.extend(evaluate_google_scopes(label, granted))
    report.token_checks.append(TokenCheck(label, "youtube", now, True, scopes=sorted(granted),
                                          missing_scopes=sorted(s for s in YOUTUBE_SCOPES if s not in granted)))
    return [YouTubeCredential(label, str(answer["access_token"]), {"*"})]


# -- 4. accounts -----------------------------------------------------------------------------------


def _where(account: Account, lines: dict[tuple[str, str], int], path: Path) -> str:
    line = lines.get(account.key)
    return f"{account.platform}:{account.id}" + (f" ({path.name}:{line})" if line else "")


def _meta_account_fix(account: Account, error: ApiError) -> tuple[Severity, str, str]:
    asset = "Page" if account.platform == "facebook" else "Instagram account"
    kind = "Sidor" if account.platform == "facebook" else "Instagramkonton"
    assign = (f"assign the {asset} to the system user (Företagsinställningar > Användare > Systemanvändare > "
              f"Tilldela tillgångar > {kind}, with 'Insikter' and 'Innehåll'; {SETUP_META} step 3), or fix the id")
    if error.error_class is ErrorClass.THROTTLED:
        return (Severity.WARNING, f"rate-limited right now ({error})",
                "nothing to fix unless it persists: the nightly run backs off; check other jobs using the same app")
    if error.error_class in (ErrorClass.TRANSIENT, ErrorClass.GARBAGE):
        return Severity.WARNING, f"could not be checked: {error}", "run `socialpulse doctor` again"
    if error.error_class is ErrorClass.PERMISSION:
        return Severity.ERROR, f"the token may not read this {asset}: {error}", assign
    if error.error_class is ErrorClass.AUTH:
        return Severity.ERROR, f"the token was refused for this {asset}: {error}", assign
    if error.code == 100 and error.subcode == 33:
        return (Severity.ERROR, f"unreachable: the id does not exist or the token cannot see it ({error})",
                f"check the id against Meta Business Suite, or {assign}; "
                "`socialpulse accounts discover --dry-run` lists what the token can read")
    return Severity.ERROR, f"unreachable: {error}", f"check the id, or {assign}"


def check_meta_accounts(report: DoctorReport, settings: Settings, groups: list[TokenGroup], client: HttpClient,
                        lines: dict[tuple[str, str], int]) -> None:
    """One `{id}?fields=id` per account, in Graph batches of 50 per token (GraphExecutor)."""
    from ingestion.extract.executors import GraphExecutor
    from ingestion.sources import RequestSpec

    items = []
    owners = []
    for group in groups:
        if group.kind != "meta" or not group.usable or not group.token:
            continue
        for account in group.accounts:
            items.append((RequestSpec(account.platform, account.id, "node", account.id, {"fields": "id"}),
                          group.token))
            owners.append((group, account))
    if not items:
        return
    outcomes = GraphExecutor(settings, client).execute(items)
    explained: dict[tuple[str, str], int] = {}
    # A failed batch answers every sub-request with the same error object: report it once.
    shared: dict[int, list[Account]] = {}
    for (_, account), outcome in zip(owners, outcomes, strict=True):
        if isinstance(outcome, ApiError):
            shared.setdefault(id(outcome), []).append(account)
    reported: set[int] = set()
    for (group, account), outcome in zip(owners, outcomes, strict=True):
        report.count("account")
        if isinstance(outcome, ApiError) and len(shared[id(outcome)]) > 1:
            if id(outcome) not in reported:
                reported.add(id(outcome))
                n = len(shared[id(outcome)])
                severity = Severity.WARNING if outcome.error_class in RETRYABLE else Severity.ERROR
                report.add(severity, "account", f"{_plural(n, 'account')} via {group.ref}",
                           f"the batch request failed: {outcome}", "run `socialpulse doctor` again; if it "
                           "persists, set SOCIALPULSE_GRAPH_BATCH=false and compare")
            continue
        if isinstance(outcome, ApiResponse):
            if isinstance(outcome.body, dict) and str(outcome.body.get("id")) != account.id:
                report.add(Severity.WARNING, "account", _where(account, lines, settings.accounts),
                           f"the API answered for id {outcome.body.get('id')!r}",
                           "use the canonical id the API returns")
            continue
        node_scopes = set(needed_scopes({account.platform}, endpoints={"node"}))
        if outcome.error_class is ErrorClass.PERMISSION and group.missing & node_scopes:
            key = (group.ref, account.platform)
            explained[key] = explained.get(key, 0) + 1
            continue
        severity, problem, fix = _meta_account_fix(account, outcome)
        report.add(severity, "account", _where(account, lines, settings.accounts), problem, fix)
    for (ref, platform), n in explained.items():
        report.add(Severity.INFO, "account", f"{platform} via {ref}",
                   f"{_plural(n, 'account')} could not be read: explained by the missing permission above")


def check_youtube_accounts(report: DoctorReport, settings: Settings, groups: list[TokenGroup], client: HttpClient,
                           lines: dict[tuple[str, str], int], now: datetime) -> None:
    """Data API `channels.list` (50 ids per call) for existence; one Analytics call per channel for ownership."""
    from ingestion.extract.executors import BearerExecutor
    from ingestion.extract.http import classify_google_error
    from ingestion.sources import RequestSpec

    day = (now - timedelta(days=3)).date().isoformat()
    for group in groups:
        if group.kind != "youtube" or not group.usable or not group.token:
            continue
        found: set[str] = set()
        failed = False
        ids = [a.id for a in group.accounts]
        for i in range(0, len(ids), 50):
            try:
                body = client.send("GET", f"{settings.youtube_data_url.rstrip('/')}/channels",
                                   params={"part": "id", "id": ",".join(ids[i:i + 50]), "maxResults": 50},
                                   headers={"Authorization": f"Bearer {group.token}"},
                                   classify=classify_google_error).body
            except ApiError as error:
                failed = True
                if "quota" in str(error).lower():
                    report.add(Severity.WARNING, "token", group.ref, f"YouTube quota used up: {error}",
                               "wait for midnight Pacific time, or give socialpulse its own Cloud project")
                elif error.error_class in (ErrorClass.AUTH, ErrorClass.PERMISSION):
                    report.add(Severity.ERROR, "token", group.ref, f"YouTube refused the token: {error}",
                               "access tokens live about an hour: store a refresh token once with `socialpulse "
                               "youtube authorize` (the nightly run then mints its own), or refresh this one with "
                               f"export {group.ref}=$(socialpulse youtube access-token) (docs/setup-youtube.md)")
                else:
                    report.add(Severity.WARNING, "token", group.ref, f"could not be checked: {error}",
                               "run `socialpulse doctor` again")
                break
            found |= {str(item.get("id")) for item in body.get("items", []) if isinstance(item, dict)}
        if failed:
            continue
        reachable = [a for a in group.accounts if a.id in found]
        for account in group.accounts:
            if account.id not in found:
                report.count("account")
                report.add(Severity.ERROR, "account", _where(account, lines, settings.accounts),
                           "unreachable: no such YouTube channel",
                           "check the channel id (YouTube Studio > Inställningar > Kanal > Avancerade inställningar) "
                           "or `socialpulse accounts discover --dry-run`")
        specs = [(RequestSpec("youtube", a.id, "analytics", "reports", {
            "ids": f"channel=={a.id}", "startDate": day, "endDate": day, "metrics": "views"},
            base="youtube_analytics"), group.token) for a in reachable]
        for account, outcome in zip(reachable, BearerExecutor(settings, client).execute(specs), strict=True):
            report.count("account")
            if isinstance(outcome, ApiError):
                if outcome.error_class in (ErrorClass.PERMISSION, ErrorClass.AUTH):
                    report.add(Severity.ERROR, "account", _where(account, lines, settings.accounts),
                               f"Analytics refused: the credentials do not own or manage this channel ({outcome})",
                               "the channel's owner (or a manager of the brand channel) runs "
                               "`socialpulse youtube authorize` (docs/setup-youtube.md)")
                else:
                    report.add(Severity.WARNING, "account", _where(account, lines, settings.accounts),
                               f"could not be checked: {outcome}", "run `socialpulse doctor` again")


# -- 5./6. warehouse and BI ------------------------------------------------------------------------


def _lock_holder(message: str) -> str:
    match = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    return f"{Path(match.group(1)).name}, PID {match.group(2)}" if match else "another process"


def open_warehouse_for_writing(report: DoctorReport, settings: Settings):
    """Check the warehouse; return a read-write connection when it is writable now, else None."""
    import duckdb

    from ingestion.load.warehouse import ensure_schema

    path = settings.warehouse
    report.count("path")
    if not path.exists():
        parent = path.parent
        probe = parent if parent.exists() else next((p for p in parent.parents if p.exists()), parent)
        if not os.access(probe, os.W_OK):
            report.add(Severity.ERROR, "warehouse", str(path), "does not exist and its folder is not writable",
                       f"set SOCIALPULSE_HOME to a writable folder, or give this user write access to {probe}")
        else:
            report.add(Severity.INFO, "warehouse", str(path), "not created yet: the first run creates it")
        return None
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        report.add(Severity.ERROR, "warehouse", str(path), "not writable by this user",
                   "run the pipeline as the file's owner, or fix the permissions of the file and its folder")
        return None
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" not in message.lower():
            report.add(Severity.ERROR, "warehouse", str(path), f"cannot be opened: {message[:200]}",
                       "restore the file from the last good copy, or move it away and backfill")
            return None
        holder = _lock_holder(message)
        try:
            duckdb.connect(str(path), read_only=True).close()
            readers = True
        except duckdb.Error:
            readers = False
        if readers:
            report.add(Severity.ERROR, "warehouse", str(path),
                       f"held open read-only by {holder}: the nightly load cannot write",
                       "BI tools must read the published copy ($SOCIALPULSE_HOME/bi/socialpulse.duckdb), never the "
                       "working warehouse: close that program or repoint it")
        else:
            report.add(Severity.WARNING, "warehouse", str(path),
                       f"locked by a writer ({holder}): a load, dbt build or publish is running now",
                       "wait for it to finish; if no run is active, stop that process (only one writer at a time)")
        return None
    except duckdb.Error as exc:
        report.add(Severity.ERROR, "warehouse", str(path), f"cannot be opened: {str(exc)[:200]}",
                   "check the file (a DuckDB 2.0 warehouse); restore it or move it away and backfill")
        return None
    try:
        ensure_schema(con)
    except duckdb.Error as exc:
        con.close()
        report.add(Severity.ERROR, "warehouse", str(path), f"schema cannot be created: {str(exc)[:200]}",
                   "check the file; restore it or move it away and backfill")
        return None
    return con


def check_paths(report: DoctorReport, settings: Settings, now: datetime) -> None:
    """BI copy, landing and quarantine folders, free disk space."""
    home = settings.home_abs
    for label, folder in (("landing", settings.landing_dir), ("bi", settings.bi_dir)):
        report.count("path")
        probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), folder)
        if not os.access(probe, os.W_OK):
            report.add(Severity.ERROR, label, str(folder), "not writable",
                       f"give the pipeline user write access to {probe}, or set SOCIALPULSE_HOME")
    published = settings.bi_dir / "socialpulse.duckdb"
    if published.exists():
        age = now - datetime.fromtimestamp(published.stat().st_mtime, UTC)
        if age > BI_STALE_AFTER:
            report.add(Severity.WARNING, "bi", str(published),
                       f"the published copy is {age.days} days old: BI users see old numbers",
                       "check the last nightly runs (socialpulse status, Airflow UI) and re-run the transform")
        try:
            import duckdb

            duckdb.connect(str(published), read_only=True).close()
        except Exception as exc:  # a BI copy that cannot be read is a problem whatever the cause
            report.add(Severity.ERROR, "bi", str(published), f"cannot be opened read-only: {str(exc)[:200]}",
                       "re-run the publish step (socialpulse run) to rewrite it")
    else:
        report.add(Severity.INFO, "bi", str(published), "not published yet: the first full run writes it")
    quarantine = settings.quarantine_dir
    if quarantine.is_dir():
        batches = [p for p in quarantine.iterdir() if p.is_dir() and (p / "validation.json").exists()]
        if batches:
            report.add(Severity.WARNING, "quarantine", str(quarantine),
                       f"{_plural(len(batches), 'load batch')} quarantined and not in the warehouse",
                       "inspect and release or drop them (docs/operations.md, 'Reading a quarantine')")
    try:
        free = shutil.disk_usage(home if home.exists() else next(p for p in home.parents if p.exists())).free
    except (OSError, StopIteration):
        free = None
    if free is not None and free < MIN_FREE_BYTES:
        report.add(Severity.WARNING, "disk", str(home), f"only {free // (1 << 20)} MiB free",
                   "free disk space: the load, dbt and the BI copy each need room for a full copy")


def check_publish(report: DoctorReport, settings: Settings, now: datetime) -> None:
    """A blocked publish: the mart gate failed last (or future coverage will make it fail), so the BI
    copy stays behind the warehouse night after night while every account looks "ok" (issue 16)."""
    from ingestion.gates.mart_gate import publish_state

    report.count("publish")
    state = publish_state(settings, now)
    if state["blocked"]:
        since = state["last_publish_at"]
        report.add(Severity.ERROR, "publish", str(settings.bi_dir),
                   f"blocked (BI copy from {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC): {state['cause']}" if since
                   else f"blocked (never published): {state['cause']}", state["repair"])


# -- 7. airflow ------------------------------------------------------------------------------------


def in_airflow(env: dict[str, str] | os._Environ) -> bool:
    """Running as an Airflow task (the task context exports AIRFLOW_CTX_DAG_ID)."""
    return bool(env.get("AIRFLOW_CTX_DAG_ID"))


def _airflow_cli(args: list[str]) -> tuple[int, str]:
    exe = shutil.which("airflow")
    if exe is None:
        return 127, "airflow command not found"
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return 124, "timed out"
    return done.returncode, done.stdout if done.returncode == 0 else (done.stderr or done.stdout)


def check_airflow(report: DoctorReport, run: AirflowCli = _airflow_cli) -> None:
    """Pools from dags/dag_support/pools.json exist with their sizes (the writer pool must be 1)."""
    try:
        wanted = json.loads(POOLS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        wanted = {WRITER_POOL: {"slots": 1}}
    for name, spec in wanted.items():
        report.count("airflow pool")
        code, out = run(["pools", "get", name, "-o", "json"])
        if code == 127:
            report.add(Severity.WARNING, "airflow", "airflow", "the airflow command is not on PATH: pools not checked",
                       "run `socialpulse doctor --airflow` where the airflow CLI is installed")
            return
        if code != 0 and "does not exist" in out.lower():
            report.add(Severity.ERROR, "airflow", f"pool {name}",
                       "missing: tasks in this pool are never scheduled (they wait silently)",
                       "airflow pools import dags/dag_support/pools.json")
            continue
        if code != 0:
            last = (out.strip().splitlines() or ["no output"])[-1][:200]
            report.add(Severity.WARNING, "airflow", "airflow", f"pools could not be read: {last}",
                       "run `airflow pools list` where the Airflow metadata database is reachable")
            return
        try:
            rows = json.loads(out)
            row = rows[0] if isinstance(rows, list) else rows
            slots = int(row.get("slots"))
        except (ValueError, TypeError, AttributeError, IndexError):
            continue
        if name == WRITER_POOL and slots != 1:
            report.add(Severity.ERROR, "airflow", f"pool {name}",
                       f"has {slots} slots: two writers would fight over the DuckDB lock",
                       "airflow pools import dags/dag_support/pools.json")
        elif slots != int(spec.get("slots", slots)):
            report.add(Severity.WARNING, "airflow", f"pool {name}",
                       f"has {slots} slots, pools.json says {spec.get('slots')}",
                       "airflow pools import dags/dag_support/pools.json")
    code, out = run(["connections", "get", ALERTS_CONNECTION, "-o", "json"])
    if code != 0 and "not found" in out.lower():
        report.add(Severity.INFO, "airflow", f"connection {ALERTS_CONNECTION}",
                   "not configured: failures are only logged, nobody is paged",
                   "optional: add an http connection with a Teams/Slack webhook (dags/dag_support/alerts.py)")


# -- the whole run ---------------------------------------------------------------------------------


def run_doctor(
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    now: datetime | None = None,
    env: dict[str, str] | os._Environ | None = None,
    airflow: bool | None = None,
    record: bool = True,
    network: bool = True,
    youtube_secrets: Path | None = None,
    airflow_cli: AirflowCli = _airflow_cli,
) -> DoctorReport:
    """Run every check; see the module docstring. Never raises for a finding; returns the report."""
    env = os.environ if env is None else env
    now = now or datetime.now(UTC)
    report = DoctorReport()
    started = time.monotonic()
    settings = check_settings(report, env, now)
    if settings is None:
        report.notes.append("settings are broken: nothing else was checked")
        return report
    secrets: list[str] = [v for k, v in env.items() if v and k.startswith("SOCIALPULSE_")
                          and ("TOKEN" in k or "SECRET" in k)]
    registry = check_registry(report, settings)
    client = make_client(settings, tuple(secrets))
    try:
        if registry is not None:
            accounts = active_accounts(registry, now.date(), settings.lookback_days)
            groups = token_groups(accounts, env)
            secrets += [g.token for g in groups if g.token]
            client.secrets = tuple(dict.fromkeys(secrets))
            if network:
                check_meta_tokens(report, settings, groups, client, now, warn_days)
                credentials = check_youtube_tokens(report, settings, groups, client, now, youtube_secrets)
                secrets += [c.access_token for c in credentials]
                client.secrets = tuple(dict.fromkeys(secrets))
                lines = account_lines(settings.accounts)
                check_meta_accounts(report, settings, groups, client, lines)
                check_youtube_accounts(report, settings, groups, client, lines, now)
                from ingestion.load.peers import doctor_check  # peer Pages need an app feature (issue 22)

                doctor_check(report, settings, registry, client)
            else:
                report.notes.append("--offline: tokens and accounts were not checked")
        else:
            report.notes.append("the registry is invalid: tokens and accounts were not checked")
    finally:
        client.close()
    con = open_warehouse_for_writing(report, settings)
    try:
        if con is not None and record and report.token_checks:
            n = record_token_checks(con, report.token_checks)
            report.notes.append(f"recorded {n} token checks in raw.tokens")
        elif report.token_checks and record:
            why = "no warehouse yet" if not settings.warehouse.exists() else "the warehouse is not writable now"
            report.notes.append(f"token checks not recorded in raw.tokens: {why}")
    finally:
        if con is not None:
            con.close()
    check_paths(report, settings, now)
    check_publish(report, settings, now)
    if airflow if airflow is not None else in_airflow(env):
        check_airflow(report, airflow_cli)
    else:
        report.notes.append("not running inside Airflow: pools and connections not checked (use --airflow)")
    report.findings = [f.redacted(secrets) for f in report.findings]
    report.notes.append(f"took {time.monotonic() - started:.1f} s")
    return report


# -- output ----------------------------------------------------------------------------------------

_STYLE = {Severity.ERROR: ("✗ error", "red"), Severity.WARNING: ("! warning", "yellow"),
          Severity.INFO: ("i note", "dim")}


def print_report(report: DoctorReport, console=None) -> None:
    """A rich table, one line per finding, then a one-line verdict."""
    import sys

    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 200)
    findings = sort_findings(report.findings)
    if findings:
        table = Table(title="socialpulse doctor", show_lines=False, expand=False)
        for column, kwargs in (("", {"no_wrap": True}), ("check", {"no_wrap": True}), ("subject", {}),
                               ("problem", {}), ("fix", {})):
            table.add_column(column, **kwargs)
        for f in findings:
            label, style = _STYLE[f.severity]
            table.add_row(f"[{style}]{label}[/{style}]", f.check, f.subject, f.problem, f.fix)
        console.print(table)
    checked = ", ".join(_plural(n, what) for what, n in report.checked.items()) or "nothing else"
    for note in report.notes:
        console.print(f"[dim]{note}[/dim]")
    if report.errors:
        console.print(f"[red bold]{_plural(len(report.errors), 'error')}, {_plural(len(report.warnings), 'warning')}"
                      f": the nightly run would fail.[/red bold] Checked: {checked}.")
    elif report.warnings:
        console.print(f"[yellow]{_plural(len(report.warnings), 'warning')}, no errors.[/yellow] Checked: {checked}.")
    else:
        console.print(f"[green]All good.[/green] Checked: {checked}.")
