"""Incident summaries and the optional webhook: concise, secret-free, configured by the Airflow
Connection `socialpulse_alerts`, tested against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from ingestion.extract.http import ApiError, ErrorClass
from ingestion.pipeline.notify import AccountsFailed, incident, post_webhook, webhook_url
from tests.airflow.conftest import REPO

TOKEN = "EAAGsecret-token-value-1234567890"


def _failures(n):
    return [{"platform": "facebook", "account_id": str(100 + i), "error_class": "auth" if i % 2 else "transient",
             "message": f"(190) expired https://graph.example/v25.0/1?access_token={TOKEN}"} for i in range(n)]


def test_incident_names_accounts_and_error_classes_without_secrets():
    exc = AccountsFailed("3 account(s) failed", failures=_failures(3), quarantined=["run/instagram"])
    item = incident(dag_id="socialpulse_nightly", run_id="scheduled__2026-11-25", task_id="report",
                    exception=exc, try_number=1, secrets=(TOKEN,))
    text = item.text()
    assert item.title.startswith("socialpulse: socialpulse_nightly.report failed [accounts_failed, 3 account(s)]")
    assert "by error class: auth=1, transient=2" in text
    assert "- facebook:101 [auth]" in text and "quarantined loads: run/instagram" in text
    assert TOKEN not in text and TOKEN not in json.dumps(item.payload())
    assert item.payload()["text"] == text


def test_incident_is_short_for_many_accounts_and_plain_errors():
    item = incident(dag_id="d", run_id="r", task_id="t", exception=AccountsFailed("x", failures=_failures(40)))
    assert len(item.text().splitlines()) < 20 and "and 25 more" in item.text()
    plain = incident(dag_id="d", run_id="r", task_id="t", exception=ApiError(ErrorClass.AUTH, "(190) expired"))
    assert plain.error_class == "auth" and "ApiError: (190) expired" in plain.text()


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (("http", "127.0.0.1", "hook", 8123, {}), "http://127.0.0.1:8123/hook"),  # from AIRFLOW_CONN_...=http://...
        (("http", "https://hooks.slack.com/services/T/B/X", None, None, {}), "https://hooks.slack.com/services/T/B/X"),
        (("http", "example.org", "https", None, {"endpoint": "/webhook/abc"}), "https://example.org/webhook/abc"),
        (("http", None, None, None, {"webhook_url": "https://teams.example/hook"}), "https://teams.example/hook"),
        (("http", None, None, None, {}), None),
    ],
)
def test_webhook_url_from_connection_fields(conn, url):
    assert webhook_url(*conn) == url


def test_post_webhook_delivers_json_and_never_raises(webhook):
    assert post_webhook(webhook.url("/hook"), {"text": "hello"}) == 200
    assert webhook.received == [{"path": "/hook", "body": {"text": "hello"}}]
    assert post_webhook("http://127.0.0.1:9/unreachable", {"text": "x"}, timeout_s=1) is None


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_notifier_logs_and_posts_when_the_connection_exists(webhook, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from dag_support.alerts import IncidentNotifier

    ti = SimpleNamespace(dag_id="socialpulse_nightly", task_id="report", map_index=-1, try_number=1,
                         log_url="http://localhost:8080/log")
    context = {"ti": ti, "dag_run": SimpleNamespace(run_id="manual__1"),
               "exception": AccountsFailed("1 failed", failures=_failures(1))}
    monkeypatch.delenv("AIRFLOW_CONN_SOCIALPULSE_ALERTS", raising=False)
    records = _Records()
    logger = logging.getLogger("socialpulse.incident")
    logger.addHandler(records)
    try:
        IncidentNotifier().notify(context)
    finally:
        logger.removeHandler(records)
    assert any(m.startswith("INCIDENT socialpulse: socialpulse_nightly.report failed") for m in records.messages)
    assert webhook.received == []  # no connection, no webhook

    monkeypatch.setenv("AIRFLOW_CONN_SOCIALPULSE_ALERTS", webhook.url("/alerts"))
    IncidentNotifier().notify(context)
    assert [r["path"] for r in webhook.received] == ["/alerts"]
    body = webhook.received[0]["body"]
    assert body["accounts"][0]["account_id"] == "100" and body["error_class"] == "accounts_failed"


def test_tokens_can_come_from_airflow_connections(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from dag_support.secrets import export_tokens_from_connections

    monkeypatch.delenv("SOCIALPULSE_META_TOKEN", raising=False)
    monkeypatch.delenv("SOCIALPULSE_YOUTUBE_TOKEN", raising=False)
    monkeypatch.delenv("SOCIALPULSE_SNAPCHAT_TOKEN", raising=False)
    monkeypatch.setenv("KULTUR_TOKEN", "from-the-environment-wins")
    monkeypatch.setenv("AIRFLOW_CONN_SOCIALPULSE_META_TOKEN", json.dumps({"conn_type": "generic", "password": TOKEN}))
    monkeypatch.setenv("AIRFLOW_CONN_KULTUR_TOKEN", json.dumps({"conn_type": "generic", "password": "not-used"}))
    chunk = [{"platform": "facebook", "account_id": "1", "token_env": None},
             {"platform": "facebook", "account_id": "2", "token_env": "KULTUR_TOKEN"}]
    assert export_tokens_from_connections(chunk) == ["SOCIALPULSE_META_TOKEN"]
    assert os.environ["SOCIALPULSE_META_TOKEN"] == TOKEN and os.environ["KULTUR_TOKEN"] == "from-the-environment-wins"


def test_youtube_refresh_credentials_can_come_from_an_airflow_connection(monkeypatch, tmp_path):
    """Connection `socialpulse_youtube` (docs/setup-youtube.md) becomes a private secrets file."""
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from dag_support.secrets import export_youtube_secrets_from_connection

    from ingestion.onboarding import youtube_oauth
    from ingestion.sources import google_oauth

    monkeypatch.setenv("HOME", str(tmp_path))  # no default secrets file
    # "" counts as unset; setenv (not delenv of an absent name) makes monkeypatch restore the
    # variable the function under test exports, so it cannot leak into later tests
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_SECRETS", "")
    assert export_youtube_secrets_from_connection() is False  # no Connection: nothing exported
    secrets = {"version": 1, "client": {"client_id": "cid", "client_secret": "csecret"},
               "credentials": [{"channel_id": "UC1", "refresh_token": "1//refresh-secret"}]}
    monkeypatch.setenv("AIRFLOW_CONN_SOCIALPULSE_YOUTUBE",
                       json.dumps({"conn_type": "generic", "extra": json.dumps(secrets)}))
    assert export_youtube_secrets_from_connection() is True
    path = Path(os.environ["SOCIALPULSE_YOUTUBE_SECRETS"])
    assert google_oauth.load_secrets(path) == secrets
    assert youtube_oauth.file_is_private(path) and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    # a worker that already names a secrets file keeps it
    assert export_youtube_secrets_from_connection() is False
