"""YouTube installed-app OAuth against the sandbox token endpoint."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ingestion.core.settings import load_settings
from ingestion.onboarding import youtube_oauth as Y
from ingestion.onboarding.cli import main as cli
from ingestion.onboarding.graph import make_client
from ingestion.onboarding.scopes import YOUTUBE_SCOPES
from ingestion.sources import google_oauth as G
from sandbox import data as sandbox_data
from tests.conftest import REPO

OAUTH = G.OAuthClient("client-id.apps.googleusercontent.com", "client-secret-xyz")


def _consent_query(lines: list[str]) -> dict[str, str]:
    url = next(line for line in lines if line.startswith(Y.AUTH_URL))
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _flow(onboarding_env, code: str, **kwargs):
    said: list[str] = []

    def paste(_prompt: str) -> str:
        state = _consent_query(said)["state"]
        return f"http://127.0.0.1:8765/?state={state}&code={code}&scope=x"

    client = make_client(load_settings())
    try:
        result = Y.authorize(client, OAUTH, data_url=load_settings().youtube_data_url,
                             path=onboarding_env / "secrets" / "youtube.json", prompt=paste, say=said.append, **kwargs)
    finally:
        client.close()
    return result, said


def test_consent_url_asks_for_offline_access_with_pkce():
    url = Y.consent_url("cid", "http://127.0.0.1:8765/", "st", "challenge")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
    assert set(query["scope"].split()) == set(YOUTUBE_SCOPES)


def test_authorize_stores_the_refresh_token_privately_and_prints_no_secret(onboarding_env):
    result, said = _flow(onboarding_env, "4/sandbox-code-channel-2")
    assert [c["id"] for c in result.channels] == [sandbox_data.youtube_channel_id(2)]
    path = onboarding_env / "secrets" / "youtube.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    [credential] = data["credentials"]
    assert credential["refresh_token"] == result.refresh_token and credential["refresh_token"]
    assert credential["channel_id"] == sandbox_data.youtube_channel_id(2)
    assert set(credential["scopes"]) == set(YOUTUBE_SCOPES)
    assert data["token_uri"].endswith("/oauth2/token")
    assert all(result.refresh_token not in line and OAUTH.client_secret not in line for line in said)
    # a second authorisation of another channel adds to the file; the same channel replaces itself
    _flow(onboarding_env, "4/sandbox-code-channel-3")
    _flow(onboarding_env, "4/sandbox-code-channel-2b-channel-2")
    channels = [c["channel_id"] for c in json.loads(path.read_text())["credentials"]]
    assert sorted(channels) == sorted([sandbox_data.youtube_channel_id(3), sandbox_data.youtube_channel_id(2)])
    # and the stored credential yields access tokens
    client = make_client(load_settings())
    try:
        assert G.access_token_for_channel(sandbox_data.youtube_channel_id(3), client, path).startswith("ya29.")
        assert G.access_token_for_channel("UCnotstoredatallxxxxxxxx", client, path) is None
    finally:
        client.close()


def test_state_mismatch_and_denied_consent_are_refused():
    with pytest.raises(G.OAuthError, match="state mismatch"):
        Y.parse_code("http://127.0.0.1:8765/?state=other&code=abc", "mine")
    with pytest.raises(G.OAuthError, match="access_denied"):
        Y.parse_code("http://127.0.0.1:8765/?error=access_denied&state=mine", "mine")
    assert Y.parse_code("  4/plain-code \n", "mine") == "4/plain-code"


def test_expired_code_is_an_auth_error(onboarding_env):
    from ingestion.extract.http import ApiError, ErrorClass

    with pytest.raises(ApiError) as caught:
        _flow(onboarding_env, "expired-code")
    assert caught.value.error_class is ErrorClass.AUTH
    assert not (onboarding_env / "secrets" / "youtube.json").exists()


def test_secrets_never_go_into_the_repository(onboarding_env):
    client = make_client(load_settings())
    try:
        with pytest.raises(G.OAuthError, match="inside the project"):
            Y.authorize(client, OAUTH, data_url="http://unused", path=REPO / "youtube.json", prompt=lambda _: "x",
                        say=lambda _: None)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_listen_mode_catches_the_loopback_redirect(onboarding_env):
    port = _free_port()
    said: list[str] = []
    box: dict = {}

    def run():
        client = make_client(load_settings())
        try:
            box["result"] = Y.authorize(client, OAUTH, data_url=load_settings().youtube_data_url,
                                        path=onboarding_env / "s" / "yt.json", port=port, listen=True,
                                        say=said.append)
        except Exception as exc:  # surfaced by the assertion below
            box["error"] = exc
        finally:
            client.close()

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(100):
        if any("Waiting" in line for line in said):
            break
        time.sleep(0.05)
    state = _consent_query(said)["state"]
    for _ in range(50):
        try:
            requests.get(f"http://127.0.0.1:{port}/?state={state}&code=4/code-channel-1", timeout=5)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    thread.join(timeout=20)
    assert "error" not in box, box.get("error")
    assert [c["id"] for c in box["result"].channels] == [sandbox_data.youtube_channel_id(1)]


def test_cli_authorize_with_client_secrets_file(onboarding_env, monkeypatch, capsys):
    client_file = onboarding_env / "client_secret.json"
    client_file.write_text(json.dumps({"installed": {"client_id": "cid", "client_secret": "csec"}}))
    def fake_input(prompt: str) -> str:
        out = capsys.readouterr().out
        url = next(line for line in out.splitlines() if line.startswith(Y.AUTH_URL))
        state = parse_qs(urlsplit(url).query)["state"][0]
        return f"http://127.0.0.1:8765/?state={state}&code=4/cli-code"

    monkeypatch.setattr("builtins.input", fake_input)
    assert cli(["youtube", "authorize", "--client-secrets", str(client_file), "--airflow-conn",
                "socialpulse_youtube"]) == 0
    out = capsys.readouterr().out
    secrets_file = onboarding_env / "secrets" / "youtube.json"
    assert f"refresh token stored in {secrets_file}" in out
    assert f'--conn-extra "$(cat {secrets_file})"' in out
    refresh = json.loads(secrets_file.read_text())["credentials"][0]["refresh_token"]
    assert refresh not in out and "csec" not in out


def test_client_secrets_file_must_be_a_desktop_client(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"something": {}}))
    with pytest.raises(G.OAuthError, match="Desktop app"):
        G.OAuthClient.from_client_secrets(bad)


def test_access_token_command_prints_only_a_fresh_access_token(onboarding_env, capsys):
    _flow(onboarding_env, "4/sandbox-code-channel-2")
    capsys.readouterr()
    assert cli(["youtube", "access-token"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("ya29.") and "\n" not in out
    _flow(onboarding_env, "4/sandbox-code-channel-3")
    assert cli(["youtube", "access-token"]) == 2  # two channels stored: which one?
    assert cli(["youtube", "access-token", "--channel", sandbox_data.youtube_channel_id(3)]) == 0
