"""YouTube access tokens for one run: minted from stored refresh tokens, cached, refreshed once on 401.

Access tokens live about an hour, so the nightly run never depends on one made before it. A channel's
refresh credential (OAuth client id/secret + refresh token) comes from, in this order:

1. the secrets file written by `socialpulse youtube authorize` (`SOCIALPULSE_YOUTUBE_SECRETS`, default
   `~/.config/socialpulse/youtube.json`): the credential whose `channel_id`/`channels` name the channel;
2. `SOCIALPULSE_YOUTUBE_REFRESH_TOKEN` with `SOCIALPULSE_YOUTUBE_CLIENT_ID` and
   `SOCIALPULSE_YOUTUBE_CLIENT_SECRET` (one Google account that manages every channel).

A channel without a refresh credential uses the plain access token as before (`token_env`, else
`SOCIALPULSE_YOUTUBE_TOKEN`; tests and the demo).

Each credential is exchanged at the token endpoint (`SOCIALPULSE_GOOGLE_TOKEN_URL`, default Google's)
once and its access token is cached for the run, renewed a few minutes before `expires_in` runs out.
When the API answers 401 to a token, the credential is refreshed once and the calls are retried; a
second 401 fails only the channels of that credential. A refused refresh token (`invalid_grant`:
revoked, or a 7-day "Testing" consent screen) is an auth error for the channels of that credential,
with the fix; other credentials and platforms carry on. Refresh tokens, client secrets and access
tokens are never logged, landed or put into an exception message: `secrets()` lists them for
redaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingestion.core.settings import Settings
from ingestion.extract.http import ApiError, ErrorClass, HttpClient
from ingestion.sources import google_oauth

log = logging.getLogger(__name__)

# Renew an access token this long before Google's `expires_in` says it ends (a slow round must not
# carry a token over its end).
EXPIRY_MARGIN_S = 300.0
# When the token endpoint does not say how long a token lives: Google's usual hour.
DEFAULT_EXPIRES_IN_S = 3600.0
REAUTHORIZE = "run `socialpulse youtube authorize` for it again (docs/setup-youtube.md)"


@dataclass(frozen=True)
class Credential:
    """One OAuth client + refresh token; `label` names it in messages (never a secret)."""

    label: str
    client: google_oauth.OAuthClient
    refresh_token: str = field(repr=False)


@dataclass
class _Entry:
    token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    generation: int = 0  # +1 per token minted; a 401 names the generation it was given
    refreshed_after_401: bool = False
    error: ApiError | None = None  # a refused refresh token stays refused for the whole run


class YouTubeTokens:
    """Access tokens per channel for one fetch (thread-safe)."""

    def __init__(self, client: HttpClient, token_url: str, by_channel: dict[str, Credential],
                 default: Credential | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.token_url = token_url
        self.by_channel = by_channel
        self.default = default
        self.clock = clock
        self.refreshes = 0  # calls to the token endpoint
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._minted: list[str] = []
        client.add_secrets(self._static_secrets())

    @classmethod
    def from_settings(cls, settings: Settings, client: HttpClient,
                      clock: Callable[[], float] = time.monotonic) -> YouTubeTokens:
        """Credentials from the secrets file and the environment (see the module docstring).

        Raises:
            google_oauth.OAuthError: the secrets file exists but is unreadable or has no OAuth client.
        """
        by_channel: dict[str, Credential] = {}
        path = google_oauth.secrets_path(settings.youtube_secrets)
        data = google_oauth.load_secrets(path)
        if data and data.get("credentials"):
            oauth = google_oauth.client_of(data)
            for item in data["credentials"]:
                if not isinstance(item, dict) or not item.get("refresh_token"):
                    continue
                channels = [c for c in {item.get("channel_id"), *(item.get("channels") or [])} if c]
                for channel in channels:
                    by_channel.setdefault(str(channel), Credential(
                        f"stored credential for {channel} ({path})", oauth, str(item["refresh_token"])))
        default = None
        if settings.youtube_refresh_token is not None:
            if not settings.youtube_client_id or settings.youtube_client_secret is None:
                raise google_oauth.OAuthError(
                    "SOCIALPULSE_YOUTUBE_REFRESH_TOKEN needs SOCIALPULSE_YOUTUBE_CLIENT_ID and "
                    "SOCIALPULSE_YOUTUBE_CLIENT_SECRET")
            default = Credential("SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", google_oauth.OAuthClient(
                settings.youtube_client_id, settings.youtube_client_secret.get_secret_value()),
                settings.youtube_refresh_token.get_secret_value())
        return cls(client, settings.google_token_url, by_channel, default, clock)

    # -- what callers ask ----------------------------------------------------------------------------

    def credential_for(self, channel: str) -> Credential | None:
        """The refresh credential that covers `channel` (None: use a plain access token)."""
        return self.by_channel.get(channel) or self.default

    def secrets(self) -> tuple[str, ...]:
        """Every secret value this provider knows (for redaction)."""
        with self._lock:
            return self._static_secrets() + tuple(self._minted)

    def token(self, channel: str) -> tuple[str, int]:
        """A valid access token for `channel` and its generation (cached; minted when missing or old).

        Raises:
            ApiError: AUTH when the refresh token or the OAuth client is refused; TRANSIENT/GARBAGE
                when the token endpoint keeps failing (after the HTTP client's retries).
            KeyError: no refresh credential covers `channel`.
        """
        credential = self.credential_for(channel)
        if credential is None:
            raise KeyError(channel)
        with self._lock:
            entry = self._entries.setdefault(credential.refresh_token, _Entry())
            if entry.error is not None:
                raise entry.error
            if entry.token is None or self.clock() >= entry.expires_at:
                self._mint(credential, entry)
            return str(entry.token), entry.generation

    def refresh_after_401(self, channel: str, generation: int) -> bool:
        """The API refused a token of `generation`: is a newer one available (minting it once)?

        False when the credential was already refreshed once after a 401 in this run: the channel
        fails instead of looping. Raises ApiError like `token` when the refresh is refused.
        """
        credential = self.credential_for(channel)
        if credential is None:
            return False
        with self._lock:
            entry = self._entries.setdefault(credential.refresh_token, _Entry())
            if entry.error is not None:
                raise entry.error
            if entry.generation > generation:
                return True  # another call of this credential already got a new token
            if entry.refreshed_after_401:
                return False
            entry.refreshed_after_401 = True
            log.info("YouTube refused the access token of %s (401): refreshing it once", credential.label)
            self._mint(credential, entry)
            return True

    # -- internals -----------------------------------------------------------------------------------

    def _static_secrets(self) -> tuple[str, ...]:
        creds = [*self.by_channel.values(), *([self.default] if self.default else [])]
        return tuple({s for c in creds for s in (c.refresh_token, c.client.client_secret) if s})

    def _mint(self, credential: Credential, entry: _Entry) -> None:
        self.refreshes += 1
        try:
            answer = google_oauth.refresh_access_token(self.client, credential.client, credential.refresh_token,
                                                        url=self.token_url)
        except ApiError as error:
            entry.token = None
            wrapped = _explain(error, credential)
            if wrapped.error_class is ErrorClass.AUTH:
                entry.error = wrapped  # do not ask again for every channel of this credential
            raise wrapped from None
        token = str(answer["access_token"])
        self._minted.append(token)
        self.client.add_secrets((token,))
        entry.token = token
        entry.expires_at = self.clock() + _expires_in(answer) - EXPIRY_MARGIN_S
        entry.generation += 1


def _expires_in(answer: dict[str, Any]) -> float:
    value = answer.get("expires_in")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > EXPIRY_MARGIN_S:
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return EXPIRY_MARGIN_S + float(value) / 2  # short-lived: renew at half its life
    return DEFAULT_EXPIRES_IN_S


def _explain(error: ApiError, credential: Credential) -> ApiError:
    """A token-endpoint failure as a message that says what to do (and holds no secret)."""
    text = str(error)
    if "invalid_grant" in text:
        message = (f"YouTube refresh token refused (invalid_grant) for {credential.label}: the channel owner "
                   f"revoked socialpulse's access, or the consent screen is still in Testing (7-day tokens); "
                   f"{REAUTHORIZE}")
    elif "invalid_client" in text or "unauthorized_client" in text:
        message = (f"Google refused the OAuth client of {credential.label} ({text}): check the client id and "
                   "secret (Google Cloud > Credentials)")
    else:
        message = f"YouTube token endpoint failed for {credential.label}: {text}"
    return ApiError(error.error_class, message, http_status=error.http_status, code=error.code)

