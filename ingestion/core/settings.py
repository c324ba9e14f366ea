"""Runtime settings, read from `SOCIALPULSE_*` environment variables (all optional).

Settings are built inside tasks and commands, never at DAG import time, so a changed environment
is picked up by the next task without re-parsing DAG files. Tokens are `SecretStr`: their repr is
masked, and they are only unwrapped where a request is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.core.platforms import SUPPORTED, SWITCHED

# Meta pins a version in the URL; insights-metric retirements apply to all versions on fixed dates
# anyway (PLATFORM_APIS.md §1), so this is upgraded yearly, deliberately.
DEFAULT_GRAPH_API_VERSION = "v25.0"
# The variable each platform's accounts read their token from, unless an account names its own
# (`token_env`); messages about a missing or refused token name it.
DEFAULT_TOKEN_ENV = {"facebook": "SOCIALPULSE_META_TOKEN", "instagram": "SOCIALPULSE_META_TOKEN",
                     "youtube": "SOCIALPULSE_YOUTUBE_TOKEN", "snapchat": "SOCIALPULSE_SNAPCHAT_TOKEN"}


class Settings(BaseSettings):
    """Everything the pipeline reads from its environment."""

    # An empty variable means "not set" (compose passes `${X:-}` for every optional setting).
    model_config = SettingsConfigDict(env_prefix="SOCIALPULSE_", extra="ignore", env_ignore_empty=True)

    home: Path = Field(default=Path("data"), description="data folder (warehouse, landing, BI copy)")
    accounts: Path = Field(default=Path("config/accounts.yml"), description="account registry")
    graph_url: str = "https://graph.facebook.com"
    graph_api_version: str = DEFAULT_GRAPH_API_VERSION
    youtube_data_url: str = "https://www.googleapis.com/youtube/v3"
    youtube_analytics_url: str = "https://youtubeanalytics.googleapis.com/v2"
    meta_token: SecretStr | None = None
    # Optional: when set, every Graph call carries appsecret_proof (Meta's recommended hardening).
    meta_app_secret: SecretStr | None = None
    # YouTube: a plain OAuth access token (~1 h; or the env var an account names with token_env), used
    # only for channels without a refresh credential (tests, demo).
    youtube_token: SecretStr | None = None
    # YouTube refresh credentials (ingestion/sources/youtube_auth.py): the secrets file written by
    # `socialpulse youtube authorize` (default ~/.config/socialpulse/youtube.json), and/or one refresh
    # token + OAuth client for every channel; access tokens are minted from them at the token endpoint.
    youtube_secrets: Path | None = None
    youtube_client_id: str | None = None
    youtube_client_secret: SecretStr | None = None
    youtube_refresh_token: SecretStr | None = None
    google_token_url: str = "https://oauth2.googleapis.com/token"
    # Snapchat's Public Profile API is allowlist-only and its field names are unverified: off by default.
    snapchat_enabled: bool = False
    snapchat_url: str = "https://businessapi.snapchat.com/v1"
    snapchat_token: SecretStr | None = None
    # Days re-read every night: Meta restates the last ~2 days, YouTube lags 2-3 days.
    lookback_days: int = Field(default=3, ge=1, le=90)
    http_timeout_s: float = 30.0
    http_max_retries: int = 4
    fetch_concurrency: int = 8
    # dbt's own log file ($SOCIALPULSE_HOME/dbt_logs/dbt.log): `info` keeps every node's start,
    # result and error; `debug` adds every SQL statement and adapter call (several MB a build and
    # ~0.5 CPU-s of formatting in the nightly's dbt task), for chasing a model's SQL.
    dbt_log_level: Literal["debug", "info", "warn", "error", "none"] = "info"
    # Pack Graph calls into batch requests of up to 50 (fewer round trips); off = one GET per call.
    graph_batch: bool = True
    # Posts/media published within this many days get their lifetime metrics refreshed nightly.
    content_refresh_days: int = Field(default=30, ge=1, le=730)
    # Accounts per fetch chunk: one Airflow mapped task per shard of one platform, and the chunks
    # `socialpulse run` fetches one after another; docs/airflow.md.
    fetch_shard_size: int = Field(default=50, ge=1, le=5000)

    @property
    def home_abs(self) -> Path:
        """The data folder as an absolute path (dbt and Airflow run from other directories)."""
        return self.home.expanduser().resolve()

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platforms the pipeline fetches: the supported ones, plus Snapchat when switched on."""
        return SUPPORTED + (SWITCHED if self.snapchat_enabled else ())

    @property
    def warehouse(self) -> Path:
        """Contract path of the working DuckDB warehouse."""
        return self.home_abs / "warehouse.duckdb"

    @property
    def landing_dir(self) -> Path:
        """Where fetch tasks write the verbatim responses of each run."""
        return self.home_abs / "landing"

    @property
    def quarantine_dir(self) -> Path:
        """Where a batch that failed the load gate is kept intact with its validation result."""
        return self.home_abs / "quarantine"

    @property
    def bi_dir(self) -> Path:
        """Published, read-only copy for BI tools (contract path)."""
        return self.home_abs / "bi"

    def token_for(self, token_env: str | None, platform: str = "facebook") -> SecretStr | None:
        """The token an account uses: its own `token_env` variable, else the platform's default."""
        if token_env:
            value = os.environ.get(token_env)
            return SecretStr(value) if value else None
        return {"youtube": self.youtube_token, "snapchat": self.snapchat_token}.get(platform, self.meta_token)


def load_settings() -> Settings:
    """Build settings from the current environment."""
    return Settings()
