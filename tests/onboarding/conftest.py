"""Fixtures for the onboarding tests: a sandbox with YouTube, and an environment pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SANDBOX_NOW

GOOD_TOKEN = "sandbox-onboarding-token-0123456789"
YOUTUBE_TOKEN = "ya29.sandbox-onboarding-channel-1"
PAGES = 10


@pytest.fixture
def yt_sandbox():
    """Sandbox with 10 Page/IG pairs and 3 YouTube channels, clock pinned to SANDBOX_NOW."""
    from sandbox.server import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(accounts=PAGES, seed=42, now=SANDBOX_NOW, youtube_channels=3)) as server:
        yield server


@pytest.fixture
def onboarding_env(tmp_path: Path, yt_sandbox, monkeypatch):
    """SOCIALPULSE_* variables for the sandbox, a private data folder and registry path, and a
    YouTube secrets path outside the repository (no real home directory is touched)."""
    for name in ("SOCIALPULSE_META_APP_ID", "SOCIALPULSE_META_APP_SECRET", "AIRFLOW_CTX_DAG_ID",
                 "SOCIALPULSE_YOUTUBE_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(tmp_path / "accounts.yml"))
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", yt_sandbox.graph_url)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_DATA_URL", yt_sandbox.youtube_data_url)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_ANALYTICS_URL", yt_sandbox.youtube_analytics_url)
    monkeypatch.setenv("SOCIALPULSE_GOOGLE_TOKEN_URL", yt_sandbox.google_token_url)
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_TOKEN", YOUTUBE_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_SECRETS", str(tmp_path / "secrets" / "youtube.json"))
    monkeypatch.setenv("SOCIALPULSE_HTTP_MAX_RETRIES", "1")
    return tmp_path
