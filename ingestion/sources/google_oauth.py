"""Google OAuth for the nightly fetch: the secrets file of refresh tokens, and minting access tokens.

Why here and not in onboarding: the nightly YouTube fetch (`ingestion.sources.youtube_auth`) needs
these pieces every run, and the runtime never imports setup code. The consent flow that writes the
file (`socialpulse youtube authorize`) is `ingestion.onboarding.youtube_oauth`; it builds on this.
The file's layout is documented there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.extract.http import ApiError, ErrorClass, HttpClient, classify_google_error

TOKEN_URL = "https://oauth2.googleapis.com/token"
# Override (the sandbox serves the token endpoint at {base}/oauth2/token).
TOKEN_URL_ENV = "SOCIALPULSE_GOOGLE_TOKEN_URL"
SECRETS_ENV = "SOCIALPULSE_YOUTUBE_SECRETS"
DEFAULT_SECRETS = Path("~/.config/socialpulse/youtube.json")


class OAuthError(RuntimeError):
    """The flow cannot continue (denied consent, state mismatch, no refresh token, bad file)."""


def token_url() -> str:
    """The token endpoint (`SOCIALPULSE_GOOGLE_TOKEN_URL` or Google's)."""
    return os.environ.get(TOKEN_URL_ENV) or TOKEN_URL


def secrets_path(path: Path | str | None = None) -> Path:
    """The secrets file: the given path, `SOCIALPULSE_YOUTUBE_SECRETS`, or the default."""
    raw = path or os.environ.get(SECRETS_ENV) or DEFAULT_SECRETS
    return Path(raw).expanduser()


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client of type "Desktop app" from Google Cloud (the secret is not very secret for
    installed apps, per Google, but it is still kept out of logs and the repository)."""

    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_client_secrets(cls, path: Path) -> OAuthClient:
        """Read the `client_secret_*.json` downloaded from Google Cloud (APIs & Services > Credentials)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OAuthError(f"{path}: cannot read the OAuth client file ({exc.__class__.__name__})") from None
        section = data.get("installed") or data.get("web") if isinstance(data, dict) else None
        if not isinstance(section, dict) or not section.get("client_id") or not section.get("client_secret"):
            raise OAuthError(f"{path}: not a Google OAuth client file (expected an 'installed' section; "
                             "create an OAuth client of type 'Desktop app')")
        return cls(str(section["client_id"]), str(section["client_secret"]))


def token_call(client: HttpClient, data: dict[str, str], url: str | None = None) -> dict[str, Any]:
    """POST to the token endpoint; the answer must carry an access_token (else GARBAGE)."""
    body = client.send("POST", url or token_url(), data=data, classify=classify_google_error).body
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ApiError(ErrorClass.GARBAGE, "the token endpoint answered without an access_token")
    return body


def refresh_access_token(client: HttpClient, oauth: OAuthClient, refresh_token: str,
                         url: str | None = None) -> dict[str, Any]:
    """Refresh token -> {access_token, scope, expires_in} (`url`: the token endpoint, default `token_url()`).

    Raises:
        ApiError: AUTH "OAuth error invalid_grant" when the refresh token was revoked or expired
            (an unverified "Testing" consent screen expires refresh tokens after 7 days).
    """
    return token_call(client, {
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": oauth.client_id,
        "client_secret": oauth.client_secret,
    }, url)


def load_secrets(path: Path) -> dict[str, Any] | None:
    """The secrets file's content, or None when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OAuthError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise OAuthError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("credentials", []), list):
        raise OAuthError(f"{path}: not a socialpulse YouTube secrets file")
    return data


def client_of(data: dict[str, Any]) -> OAuthClient:
    """The OAuth client stored in a secrets file."""
    if not data.get("client_id") or not data.get("client_secret"):
        raise OAuthError("the secrets file has no client_id/client_secret: run `socialpulse youtube authorize`")
    return OAuthClient(str(data["client_id"]), str(data["client_secret"]))


def access_token_for_channel(channel_id: str, client: HttpClient, path: Path | None = None) -> str | None:
    """A fresh access token for one channel from the secrets file (None: no credential for it).

    For the nightly run: refresh once per run and per channel; access tokens live ~1 hour.
    """
    data = load_secrets(secrets_path(path))
    if not data:
        return None
    for credential in data.get("credentials", []):
        if not isinstance(credential, dict):
            continue
        if channel_id in {credential.get("channel_id"), *(credential.get("channels") or [])}:
            return str(refresh_access_token(client, client_of(data), str(credential["refresh_token"]))["access_token"])
    return None
