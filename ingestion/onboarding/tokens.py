"""Meta tokens: inspect (`/debug_token`), judge against the scopes the registry needs, exchange a
short-lived user token for a long-lived one, derive Page tokens, and record checks in `raw.tokens`.

The recommended production setup is a Business Manager *system user* token: it never expires and
has no data-access expiry, so nobody has to renew anything (docs/setup-meta.md). The exchange is
for setups that start from a person's token: short-lived user token (1-2 h) -> long-lived user
token (~60 days) -> Page tokens, which do not expire when derived from a long-lived user token
(PLATFORM_APIS.md §2.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.core.findings import Finding, Severity
from ingestion.core.settings import Settings
from ingestion.extract.http import ApiError, ErrorClass, HttpClient
from ingestion.onboarding.graph import get, get_all, graph_base
from ingestion.onboarding.scopes import missing_scopes, scope_label

SETUP_META = "docs/setup-meta.md"
# The app id is only needed to build an app token ("APPID|SECRET") for debug_token; without it a
# token inspects itself, which Meta allows for user, Page and system-user tokens.
APP_ID_ENV = "SOCIALPULSE_META_APP_ID"
# A token that expires before the next nightly run is as good as expired.
NIGHTLY_HORIZON = timedelta(days=1)

_NEW_TOKEN_FIX = (
    "create a new token and store it in {ref}. Recommended: a system-user token, which never expires: "
    "Meta Business Suite > Företagsinställningar > Användare > Systemanvändare > Generera ny token "
    f"({SETUP_META})"
)


def _ts(value: Any) -> datetime | None:
    """Meta's expiry timestamps: 0 (or absent) means never."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class TokenInfo:
    """What `/debug_token` says about a token (no token inside)."""

    is_valid: bool
    type: str | None = None  # USER | PAGE | SYSTEM_USER | APP
    app_id: str | None = None
    expires_at: datetime | None = None  # None: never expires
    data_access_expires_at: datetime | None = None  # None: no data-access expiry
    scopes: tuple[str, ...] = ()
    granular_scopes: tuple[dict[str, Any], ...] = ()
    error_code: int | None = None
    error_subcode: int | None = None
    error_message: str = ""

    @classmethod
    def from_debug(cls, data: dict[str, Any]) -> TokenInfo:
        """Build from the `data` object of a `/debug_token` answer."""
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        scopes = data.get("scopes") if isinstance(data.get("scopes"), list) else []
        granular = data.get("granular_scopes") if isinstance(data.get("granular_scopes"), list) else []
        return cls(
            is_valid=data.get("is_valid") is True,
            type=data.get("type"),
            app_id=str(data["app_id"]) if data.get("app_id") is not None else None,
            expires_at=_ts(data.get("expires_at")),
            data_access_expires_at=_ts(data.get("data_access_expires_at")),
            scopes=tuple(str(s) for s in scopes),
            granular_scopes=tuple(g for g in granular if isinstance(g, dict)),
            error_code=error.get("code"),
            error_subcode=error.get("subcode") or error.get("error_subcode"),
            error_message=str(error.get("message", "")),
        )

    @classmethod
    def from_error(cls, error: ApiError) -> TokenInfo:
        """A token the Graph API refused outright (190/463 expired, 190/460 invalidated...)."""
        return cls(is_valid=False, error_code=error.code, error_subcode=error.subcode, error_message=str(error))

    def granted_targets(self, scope: str) -> list[str]:
        """Object ids a granular scope is limited to (empty: not limited, or not listed)."""
        for item in self.granular_scopes:
            if item.get("scope") == scope and isinstance(item.get("target_ids"), list):
                return [str(t) for t in item["target_ids"]]
        return []


def app_token(settings: Settings) -> str | None:
    """`APPID|APPSECRET` when both are configured, else None."""
    app_id = os.environ.get(APP_ID_ENV)
    if app_id and settings.meta_app_secret is not None:
        return f"{app_id}|{settings.meta_app_secret.get_secret_value()}"
    return None


def inspect_token(client: HttpClient, settings: Settings, token: str) -> TokenInfo:
    """Ask `/debug_token` about `token` (as itself, or with the app token when configured).

    Raises:
        ApiError: a failure that says nothing about the token (network, throttling, garbage).
    """
    inspector = app_token(settings) or token
    try:
        body = get(client, settings, "debug_token", inspector, {"input_token": token})
    except ApiError as error:
        if error.error_class is ErrorClass.AUTH:
            return TokenInfo.from_error(error)
        raise
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiError(ErrorClass.GARBAGE, "debug_token answered without a 'data' object")
    return TokenInfo.from_debug(data)


def _invalid_fix(info: TokenInfo, ref: str) -> tuple[str, str]:
    code, sub = info.error_code, info.error_subcode
    if sub == 463 or "expired" in info.error_message.lower():
        return "token expired (190/463)", _NEW_TOKEN_FIX.format(ref=ref)
    if sub == 460:
        return ("token invalidated (190/460: password changed or a security check)",
                _NEW_TOKEN_FIX.format(ref=ref))
    if sub == 458:
        return ("the app is not authorised for this user (190/458)",
                "add the app to the system user again (Systemanvändare > Tilldela tillgångar > Appar), then "
                + _NEW_TOKEN_FIX.format(ref=ref))
    label = f"({code}/{sub})" if sub else f"({code})" if code else ""
    return f"token is not valid {label}".strip(), _NEW_TOKEN_FIX.format(ref=ref)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def evaluate_meta_token(
    ref: str, info: TokenInfo, platforms: set[str], *, now: datetime, warn_days: int, accounts: int = 0
) -> list[Finding]:
    """Findings for one Meta token used by `accounts` registry accounts on `platforms`."""
    used_by = f" ({accounts} account{'s' if accounts != 1 else ''} use it)" if accounts else ""
    if not info.is_valid:
        problem, fix = _invalid_fix(info, ref)
        return [Finding(Severity.ERROR, "token", ref, problem + used_by, fix)]
    out: list[Finding] = []
    if info.expires_at is not None:
        left = info.expires_at - now
        if left <= NIGHTLY_HORIZON:
            short = info.type == "USER" and left <= timedelta(hours=2)
            problem = (f"short-lived user token: expires {_day(info.expires_at)}" if short
                       else f"token expires {_day(info.expires_at)}, before the next nightly run")
            fix = ("exchange it for a long-lived token and Page tokens: socialpulse token exchange --app-id ID "
                   f"--app-secret-env NAME --token-env {ref}; better: a system-user token ({SETUP_META})")
            out.append(Finding(Severity.ERROR, "token", ref, problem + used_by, fix))
        elif left <= timedelta(days=warn_days):
            out.append(Finding(
                Severity.WARNING, "token", ref,
                f"token expires in {left.days} days, on {_day(info.expires_at)}{used_by}",
                "replace it before then with a system-user token that never expires "
                f"({SETUP_META}), or run `socialpulse token exchange` again and store the new token in {ref}",
            ))
    if info.data_access_expires_at is not None:
        left = info.data_access_expires_at - now
        if left <= NIGHTLY_HORIZON or left <= timedelta(days=warn_days):
            severity = Severity.ERROR if left <= NIGHTLY_HORIZON else Severity.WARNING
            out.append(Finding(
                severity, "token", ref,
                f"data access expires {_day(info.data_access_expires_at)} (in {max(left.days, 0)} days): "
                f"insights stop even though the token is still valid{used_by}",
                "the user behind the token must log in to the app again (Meta renews data access for 90 days); "
                f"a system-user token has no data-access expiry ({SETUP_META})",
            ))
    missing = missing_scopes(set(info.scopes), platforms)
    if info.type == "PAGE":
        # Page tokens carry the user's permissions for that Page; business_management is not theirs.
        missing.pop("business_management", None)
    for scope, calls in missing.items():
        where = ("derive a new Page token from a user or system-user token that has it" if info.type == "PAGE"
                 else "Systemanvändare > Generera ny token: tick it under Behörigheter")
        out.append(Finding(
            Severity.ERROR, "token", ref,
            f"permission {scope} missing: {'; '.join(calls[:3])}{' ...' if len(calls) > 3 else ''} will fail",
            f"grant {scope} and store the new token in {ref} ({where}; {SETUP_META})",
        ))
    return out


def evaluate_google_scopes(ref: str, granted: set[str], platforms: set[str] | None = None) -> list[Finding]:
    """Findings for a YouTube credential whose granted OAuth scopes are known."""
    out = []
    for scope, calls in missing_scopes(granted, platforms or {"youtube"}).items():
        out.append(Finding(
            Severity.ERROR, "token", ref,
            f"OAuth scope {scope_label(scope)} not granted: {'; '.join(calls)} will fail",
            "authorise again and tick every requested permission on Google's consent screen: "
            "socialpulse youtube authorize (docs/setup-youtube.md)",
        ))
    return out


@dataclass
class TokenCheck:
    """One row of `raw.tokens` (token_ref names the variable, never the token)."""

    token_ref: str
    platform: str
    checked_at: datetime
    is_valid: bool | None
    expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)


def record_token_checks(con, checks: list[TokenCheck]) -> int:
    """Append token checks to `raw.tokens` on an open read-write connection; returns the row count."""
    rows = [(c.checked_at, c.token_ref, c.platform, c.is_valid, c.expires_at, c.data_access_expires_at,
             c.scopes, c.missing_scopes) for c in checks]
    if rows:
        con.executemany("insert into raw.tokens values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


# -- token lifecycle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LongLivedToken:
    """The result of the exchange; `token` is secret."""

    token: str = field(repr=False)
    expires_in_s: int | None


def exchange_long_lived(
    client: HttpClient, settings: Settings, app_id: str, app_secret: str, short_token: str
) -> LongLivedToken:
    """Exchange a short-lived user token for a long-lived (~60 days) one (`/oauth/access_token`).

    Raises:
        ApiError: the exchange was refused (expired short token, wrong app secret...).
    """
    body = client.send("GET", graph_base(settings) + "oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": app_id, "client_secret": app_secret,
        "fb_exchange_token": short_token,
    }).body
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError(ErrorClass.GARBAGE, "the token exchange answered without an access_token")
    expires = body.get("expires_in")
    return LongLivedToken(token, int(expires) if isinstance(expires, int | float) else None)


@dataclass(frozen=True)
class PageToken:
    """A Page and its Page access token (secret)."""

    page_id: str
    name: str
    token: str = field(repr=False)

    @property
    def env_name(self) -> str:
        """The environment variable suggested for this Page's token (registry `token_env`)."""
        return f"SOCIALPULSE_PAGE_TOKEN_{self.page_id}"


def page_tokens(client: HttpClient, settings: Settings, user_token: str) -> list[PageToken]:
    """Page tokens of every Page the (long-lived) user token manages, via `/me/accounts`."""
    out = []
    for item in get_all(client, settings, "me/accounts", user_token, {"fields": "id,name,access_token"}):
        if isinstance(item.get("id"), str) and isinstance(item.get("access_token"), str):
            out.append(PageToken(item["id"], str(item.get("name", "")), item["access_token"]))
    return out
