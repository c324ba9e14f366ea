"""YouTube access tokens minted from refresh credentials at the sandbox's token endpoint: cached
for the run, refreshed once on 401, a refused refresh token fails only its channels, no secret
leaks into results, landing files or logs."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from ingestion.core.settings import load_settings
from ingestion.extract import landing
from ingestion.extract.fetch import fetch_chunk
from ingestion.extract.http import HttpClient
from ingestion.extract.plan import AccountPlan
from ingestion.onboarding import youtube_oauth
from ingestion.sources import FetchContext, google_oauth
from ingestion.sources.youtube_auth import YouTubeTokens
from sandbox import data as sandbox_data
from sandbox.server import SandboxConfig, SandboxServer
from tests.conftest import SANDBOX_NOW

AS_OF = date(2026, 11, 19)
CHANNELS = [sandbox_data.youtube_channel_id(i) for i in (1, 2, 3)]
CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-sandbox-client-secret-0123"
REFRESH = "1//sandbox-refresh-token-for-the-municipality-0123456789"
REVOKED = "revoked-1//sandbox-refresh-token-of-channel-2-abcdef"


def _plans():
    return [AccountPlan("youtube", c, None, date(2026, 11, 13), AS_OF) for c in CHANNELS]


def _start(**faults) -> SandboxServer:
    return SandboxServer(SandboxConfig(accounts=3, seed=42, now=SANDBOX_NOW, youtube_channels=3,
                                       account_faults=faults)).start()


@pytest.fixture
def yt_env(tmp_path, monkeypatch):
    """Environment for a YouTube-only fetch with refresh credentials and no plain access token."""
    servers: list[SandboxServer] = []

    def make(**faults):
        server = _start(**faults)
        servers.append(server)
        monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", server.graph_url)
        monkeypatch.setenv("SOCIALPULSE_YOUTUBE_DATA_URL", server.youtube_data_url)
        monkeypatch.setenv("SOCIALPULSE_YOUTUBE_ANALYTICS_URL", server.youtube_analytics_url)
        monkeypatch.setenv("SOCIALPULSE_GOOGLE_TOKEN_URL", server.google_token_url)
        monkeypatch.setenv("SOCIALPULSE_YOUTUBE_SECRETS", str(tmp_path / "secrets" / "youtube.json"))
        monkeypatch.setenv("SOCIALPULSE_HTTP_MAX_RETRIES", "1")
        monkeypatch.delenv("SOCIALPULSE_YOUTUBE_TOKEN", raising=False)
        return server

    yield make
    for server in servers:
        server.stop()


def _env_credential(monkeypatch, refresh=REFRESH):
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", refresh)


def _minted(refresh: str) -> str:
    """The access token the sandbox mints for a refresh token (to prove it never leaks)."""
    client = HttpClient(max_retries=0)
    try:
        return google_oauth.refresh_access_token(client, google_oauth.OAuthClient(CLIENT_ID, CLIENT_SECRET),
                                                  refresh, url=load_settings().google_token_url)["access_token"]
    finally:
        client.close()


def _landed_text(settings, run_id: str) -> str:
    root = landing.run_dir(settings.landing_dir, run_id)
    return "\n".join(p.read_text() for p in root.rglob("*") if p.is_file())


def _assert_no_secret(texts, secrets):
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_nightly_mints_one_access_token_from_the_refresh_token_and_caches_it(yt_env, monkeypatch, caplog):
    yt_env()
    _env_credential(monkeypatch)
    caplog.set_level(logging.DEBUG)
    settings = load_settings()
    assert settings.youtube_token is None  # no access token at all: only the refresh credential
    result = fetch_chunk(settings, "run-yt-refresh", "c0", _plans(), FetchContext(as_of=AS_OF))
    assert (result.accounts_ok, result.accounts_failed) == (3, 0), result.failures
    # one credential for three channels and every round: one call to the token endpoint
    assert result.token_refreshes == 1
    records = list(landing.read_records(settings.landing_dir, "run-yt-refresh", "youtube"))
    assert {r["account_id"] for r in records} == set(CHANNELS)
    assert {r["endpoint"] for r in records} >= {"node", "analytics", "demographics"}
    _assert_no_secret([json.dumps(result.to_dict()), _landed_text(settings, "run-yt-refresh"), caplog.text],
                      [REFRESH, CLIENT_SECRET, _minted(REFRESH)])


def test_revoked_refresh_token_fails_only_its_channel_with_the_fix(yt_env, tmp_path, monkeypatch, caplog):
    yt_env()
    caplog.set_level(logging.DEBUG)
    # the secrets file `socialpulse youtube authorize` writes: one credential per channel
    path = tmp_path / "secrets" / "youtube.json"
    oauth = google_oauth.OAuthClient(CLIENT_ID, CLIENT_SECRET)
    for channel, refresh in zip(CHANNELS, [REFRESH + "-1", REVOKED, REFRESH + "-3"], strict=True):
        youtube_oauth.store_credential(path, oauth, "unused", {"channel_id": channel, "refresh_token": refresh})
    settings = load_settings()
    result = fetch_chunk(settings, "run-yt-revoked", "c0", _plans(), FetchContext(as_of=AS_OF))
    assert (result.accounts_ok, result.accounts_failed) == (2, 1)
    [failure] = result.failures
    assert failure["account_id"] == CHANNELS[1]
    assert failure["error_class"] == "auth" and failure["endpoint"] == "oauth_token"
    assert "invalid_grant" in failure["message"] and "socialpulse youtube authorize" in failure["message"]
    assert result.token_refreshes == 3  # one per credential, the refused one asked once
    landed = {r["account_id"] for r in landing.read_records(settings.landing_dir, "run-yt-revoked", "youtube")}
    assert landed == {CHANNELS[0], CHANNELS[2]}
    _assert_no_secret([json.dumps(result.to_dict()), _landed_text(settings, "run-yt-revoked"), caplog.text],
                      [REFRESH, REVOKED, CLIENT_SECRET, _minted(REFRESH + "-1")])


def test_a_401_refreshes_once_then_fails_only_that_channel(yt_env, monkeypatch):
    # The sandbox refuses every token for channel 2 (as if the owner had just revoked access): the
    # credential is refreshed once after the 401, the retry is refused again, and the channel
    # fails as an auth error; the other channels of the same credential are fetched.
    yt_env(**{CHANNELS[1]: "expired_token"})
    _env_credential(monkeypatch)
    result = fetch_chunk(load_settings(), "run-yt-401", "c0", _plans(), FetchContext(as_of=AS_OF))
    assert (result.accounts_ok, result.accounts_failed) == (2, 1)
    [failure] = result.failures
    assert failure["account_id"] == CHANNELS[1]
    assert (failure["error_class"], failure["http_status"]) == ("auth", 401)
    assert result.token_refreshes == 2  # the first token, and exactly one refresh after the 401


def test_token_cache_expiry_and_single_refresh_after_401(yt_env, monkeypatch):
    yt_env()
    _env_credential(monkeypatch)
    now = [1000.0]
    client = HttpClient(max_retries=0)
    try:
        tokens = YouTubeTokens.from_settings(load_settings(), client, clock=lambda: now[0])
        token, generation = tokens.token(CHANNELS[0])
        assert token.startswith("ya29.") and tokens.refreshes == 1
        assert tokens.token(CHANNELS[2]) == (token, generation)  # cached, shared by the credential
        now[0] += 3599 - 301  # the sandbox says expires_in 3599: renewed 5 minutes before the end
        assert tokens.token(CHANNELS[0])[1] == generation and tokens.refreshes == 1
        now[0] += 2
        assert tokens.token(CHANNELS[0])[1] == generation + 1 and tokens.refreshes == 2
        # a 401 on generation g: one refresh; a second 401 on the same g (another call of the same
        # round) reuses it; a 401 on the new token gives up
        g = generation + 1
        assert tokens.refresh_after_401(CHANNELS[0], g) is True and tokens.refreshes == 3
        assert tokens.refresh_after_401(CHANNELS[1], g) is True and tokens.refreshes == 3
        assert tokens.refresh_after_401(CHANNELS[0], g + 1) is False and tokens.refreshes == 3
        assert CLIENT_SECRET in client.secrets and REFRESH in client.secrets and token in client.secrets
    finally:
        client.close()


def test_plain_access_token_still_works_without_credentials(yt_env, monkeypatch):
    yt_env()
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_TOKEN", "ya29.plain-access-token-for-tests")
    result = fetch_chunk(load_settings(), "run-yt-plain", "c0", _plans(), FetchContext(as_of=AS_OF))
    assert (result.accounts_ok, result.accounts_failed, result.token_refreshes) == (3, 0, 0)


def test_refresh_token_without_its_client_is_a_clear_error_for_youtube_only(yt_env, monkeypatch):
    yt_env()
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", REFRESH)
    result = fetch_chunk(load_settings(), "run-yt-noclient", "c0", _plans(), FetchContext(as_of=AS_OF))
    assert result.accounts_failed == 3 and result.round_trips == 0
    assert all("SOCIALPULSE_YOUTUBE_CLIENT_ID" in f["message"] and REFRESH not in f["message"]
               for f in result.failures)
