"""YouTube: the installed-app OAuth flow, and a secrets file that keeps the refresh tokens.

The Analytics API only answers the channel's owner (or a manager of a brand channel), so each
channel's owner authorises once (PLATFORM_APIS.md §5.2). `socialpulse youtube authorize` prints
Google's consent URL (with PKCE), takes the authorisation code (pasted, or caught on a loopback
port with `--listen`), exchanges it at the token endpoint and stores the *refresh token* -- never
printed unless `--show` -- in a secrets file outside the repository:

    ~/.config/socialpulse/youtube.json   (mode 0600; override: SOCIALPULSE_YOUTUBE_SECRETS)

    {"version": 1, "client_id": "...", "client_secret": "...", "token_uri": "...",
     "credentials": [{"channel_id": "UC...", "title": "...", "refresh_token": "...",
                      "scopes": [...], "authorized_at": "..."}]}

One file holds one OAuth client and one credential per authorised channel. For Airflow, the same
JSON goes into the `extra` of a Connection (`airflow_connection_command`). Access tokens live about
an hour: the nightly fetch mints them from this file itself (`ingestion.sources.youtube_auth`);
`access_token_for_channel` does it for one channel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as _secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ingestion.extract.http import ApiError, HttpClient, classify_google_error
from ingestion.onboarding.scopes import YOUTUBE_SCOPES
from ingestion.onboarding.secret_files import SecretFileError, inside_project, is_private, write_private
from ingestion.sources.google_oauth import (
    OAuthClient,
    OAuthError,
    load_secrets,
    token_call,
    token_url,
)

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
# Overrides (the sandbox serves the token endpoint at {base}/oauth2/token).
AUTH_URL_ENV = "SOCIALPULSE_GOOGLE_AUTH_URL"
AIRFLOW_CONN_ID = "socialpulse_youtube"


def auth_url() -> str:
    """The consent endpoint (`SOCIALPULSE_GOOGLE_AUTH_URL` or Google's)."""
    return os.environ.get(AUTH_URL_ENV) or AUTH_URL


# -- the consent step ------------------------------------------------------------------------------


def new_pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) for one authorisation (RFC 7636)."""
    verifier = _secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def consent_url(client_id: str, redirect_uri: str, state: str, code_challenge: str,
                scopes: tuple[str, ...] = YOUTUBE_SCOPES) -> str:
    """Google's consent page; `access_type=offline` + `prompt=consent` make it return a refresh token."""
    return auth_url() + "?" + urlencode({
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    })


def parse_code(text: str, expected_state: str | None) -> str:
    """The authorisation code from what the user pasted: the code itself or the whole redirect URL."""
    text = text.strip()
    if not text:
        raise OAuthError("no authorisation code given")
    if "://" in text or text.startswith(("?", "/")):
        query = parse_qs(urlsplit(text).query)
        if "error" in query:
            raise OAuthError(f"Google refused the authorisation: {query['error'][0]} (consent denied or cancelled?)")
        if "code" not in query:
            raise OAuthError("the pasted URL has no 'code' parameter: paste the whole address from the browser bar")
        state = query.get("state", [None])[0]
        if expected_state is not None and state != expected_state:
            raise OAuthError("state mismatch: the URL belongs to another authorisation attempt; start again")
        return query["code"][0]
    return text


def wait_for_redirect(port: int, expected_state: str, timeout_s: float = 300.0) -> str:
    """Serve one request on 127.0.0.1:`port` (the loopback redirect) and return its code."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: dict[str, str] = {}

    class _Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the request line holds the code

        def do_GET(self) -> None:  # noqa: N802
            received["path"] = self.path
            body = b"socialpulse: authorisation received, you can close this tab."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with HTTPServer(("127.0.0.1", port), _Handler) as server:
        server.timeout = timeout_s
        server.handle_request()
    if "path" not in received:
        raise OAuthError(f"no redirect arrived on port {port} within {int(timeout_s)} s")
    return parse_code(received["path"], expected_state)


# -- the token endpoint ----------------------------------------------------------------------------


def exchange_code(client: HttpClient, oauth: OAuthClient, code: str, redirect_uri: str,
                  code_verifier: str) -> dict[str, Any]:
    """Authorisation code -> {access_token, refresh_token, scope, expires_in} (secret values)."""
    return token_call(client, {
        "grant_type": "authorization_code", "code": code, "client_id": oauth.client_id,
        "client_secret": oauth.client_secret, "redirect_uri": redirect_uri, "code_verifier": code_verifier,
    })


def mine_channels(client: HttpClient, data_url: str, access_token: str) -> list[dict[str, str]]:
    """Channels the credentials own (`channels?part=snippet&mine=true`): [{id, title}]."""
    out: list[dict[str, str]] = []
    params: dict[str, Any] = {"part": "snippet", "mine": "true", "maxResults": 50}
    for _ in range(100):
        body = client.send("GET", f"{data_url.rstrip('/')}/channels", params=params,
                           headers={"Authorization": f"Bearer {access_token}"}, classify=classify_google_error).body
        for item in body.get("items", []) if isinstance(body, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
                out.append({"id": item["id"], "title": str(snippet.get("title") or item["id"])})
        token = body.get("nextPageToken") if isinstance(body, dict) else None
        if not token:
            break
        params = {**params, "pageToken": token}
    return out


# -- the secrets file ------------------------------------------------------------------------------


def file_is_private(path: Path) -> bool:
    """Whether only the owner can read the file (mode 0600 or stricter)."""
    return is_private(path)


def save_secrets(path: Path, data: dict[str, Any]) -> None:
    """Write the secrets file atomically with mode 0600 (folder 0700); never inside the repository."""
    try:
        write_private(path, json.dumps(data, indent=2) + "\n")
    except SecretFileError as error:
        raise OAuthError(str(error)) from None


def store_credential(path: Path, oauth: OAuthClient, token_uri: str, credential: dict[str, Any]) -> dict[str, Any]:
    """Add or replace (same channel) one credential in the secrets file; returns the new content."""
    data = load_secrets(path) or {"version": 1}
    data.update(client_id=oauth.client_id, client_secret=oauth.client_secret, token_uri=token_uri)
    credentials = [c for c in data.get("credentials", []) if isinstance(c, dict)]
    channel = credential.get("channel_id")
    credentials = [c for c in credentials if not channel or c.get("channel_id") != channel]
    credentials.append(credential)
    data["credentials"] = credentials
    save_secrets(path, data)
    return data


def airflow_connection_command(path: Path, conn_id: str = AIRFLOW_CONN_ID) -> str:
    """An `airflow connections add` command that reads the secrets file (it holds no secret itself)."""
    return (f"airflow connections add {conn_id} --conn-type generic "
            f"--conn-extra \"$(cat {path})\"")


# -- the whole flow --------------------------------------------------------------------------------


@dataclass
class AuthorizeResult:
    """What `authorize` stored (no secret values)."""

    path: Path
    channels: list[dict[str, str]]
    scopes: list[str]
    refresh_token: str = field(repr=False, default="")


def authorize(
    client: HttpClient,
    oauth: OAuthClient,
    *,
    data_url: str,
    path: Path,
    port: int = 8765,
    listen: bool = False,
    prompt: Callable[[str], str] | None = None,
    say: Callable[[str], None] = print,
    now: datetime | None = None,
) -> AuthorizeResult:
    """Run the installed-app flow and store the refresh token; see the module docstring."""
    if inside_project(path):
        raise OAuthError(f"{path} is inside the project folder: secrets never go into the repository")
    verifier, challenge = new_pkce()
    state = _secrets.token_urlsafe(16)
    redirect_uri = f"http://127.0.0.1:{port}/"
    say("1. Open this address in a browser, signed in as the channel's owner or manager "
        "(brand channels: pick the channel when Google asks):")
    say("")
    say(consent_url(oauth.client_id, redirect_uri, state, challenge))
    say("")
    if listen:
        say(f"2. Waiting for Google's redirect on {redirect_uri} ...")
        code = wait_for_redirect(port, state)
    else:
        say("2. After you allow access, the browser goes to an address on 127.0.0.1 that may not load. "
            "Copy that whole address from the address bar and paste it here.")
        code = parse_code((prompt or input)("Address (or code): "), state)
    tokens = exchange_code(client, oauth, code, redirect_uri, verifier)
    refresh = tokens.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise OAuthError("Google returned no refresh token: remove socialpulse's access at "
                         "https://myaccount.google.com/permissions and authorise again (prompt=consent is set)")
    scopes = str(tokens.get("scope", "")).split()
    try:
        channels = mine_channels(client, data_url, str(tokens["access_token"]))
    except ApiError as error:
        say(f"note: could not list the authorised channel ({error}); the credential is stored without a channel id")
        channels = []
    moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    credential = {
        "channel_id": channels[0]["id"] if len(channels) == 1 else None,
        "title": ", ".join(c["title"] for c in channels) or None,
        "channels": [c["id"] for c in channels],
        "refresh_token": refresh,
        "scopes": scopes,
        "authorized_at": moment,
    }
    store_credential(path, oauth, token_url(), credential)
    return AuthorizeResult(path, channels, scopes, refresh)
