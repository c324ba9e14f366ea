"""The doctor's checks against the platforms: tokens (Meta, YouTube) and the registered accounts.

Split from `ingestion.onboarding.doctor` (the run and the local checks: settings, registry, warehouse,
BI, Airflow) because these are the checks that call the platform APIs.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ingestion.core.findings import Severity
from ingestion.core.registry import Account
from ingestion.core.settings import DEFAULT_TOKEN_ENV, Settings
from ingestion.extract.http import RETRYABLE, ApiError, ApiResponse, ErrorClass, HttpClient
from ingestion.onboarding import youtube_oauth
from ingestion.onboarding.doctor_report import DoctorReport
from ingestion.onboarding.scopes import YOUTUBE_SCOPES, missing_scopes, needed_scopes
from ingestion.onboarding.tokens import (
    SETUP_META,
    TokenCheck,
    TokenInfo,
    evaluate_google_scopes,
    evaluate_meta_token,
    inspect_token,
)
from ingestion.sources import google_oauth

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


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_meta_tokens(report: DoctorReport, settings: Settings, groups: list[TokenGroup], client: HttpClient,
                      now: datetime, warn_days: int) -> None:
    meta = [g for g in groups if g.kind == "meta"]
    for group in meta:
        if not group.token:
            report.add(Severity.ERROR, "token", group.ref,
                       f"not set; {plural(len(group.accounts), 'account')} use it",
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
                   f"not set, and no refresh token covers the {plural(len(uncovered), 'YouTube channel')} "
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
                report.add(severity, "account", f"{plural(n, 'account')} via {group.ref}",
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
                   f"{plural(n, 'account')} could not be read: explained by the missing permission above")


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
