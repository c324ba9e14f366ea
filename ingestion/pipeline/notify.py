"""Failures: which ones are worth a retry, and the incident summary an engineer reads first.

Airflow-free. The DAGs use it twice: their retry policy asks `classify()` whether an exception is
transient (retry with exponential backoff) or not (auth, invalid request, failed data checks, bugs:
fail fast), and their failure notifier turns the exception into a short incident (which accounts,
which error class) for the task log and an optional Slack/Teams-style webhook. Every text that
leaves this module is redacted; a webhook URL is itself a secret and is never logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from ingestion.core.redact import redact
from ingestion.extract.http import RETRYABLE, ApiError, ErrorClass

log = logging.getLogger(__name__)

# How many accounts an incident names before it says "and N more" (a chat message stays readable).
MAX_LISTED_ACCOUNTS = 15
WEBHOOK_TIMEOUT_S = 10.0


class AccountsFailed(RuntimeError):
    """Some accounts failed; the healthy ones were loaded. `failures` names every one."""

    def __init__(self, message: str, failures: list[dict[str, Any]] | None = None,
                 quarantined: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])
        self.quarantined = list(quarantined or [])


class TransientAccountsError(RuntimeError):
    """Accounts of a fetch chunk failed with transient errors after the HTTP layer's own retries.

    Raised only while the task has tries left, so Airflow retries the chunk later (with backoff);
    on the last try the chunk returns normally and the run report names the accounts.
    """

    def __init__(self, message: str, failures: list[dict[str, Any]] | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Classification:
    """What an exception means for a retry decision and an incident."""

    retryable: bool
    error_class: str
    reason: str
    retry_after_s: float | None = None


_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, requests.ConnectionError, requests.Timeout,
)


def classify(exc: BaseException) -> Classification:
    """Transient (retry later) or not (fail fast), with an error class for the incident."""
    if isinstance(exc, TransientAccountsError):
        return Classification(True, str(ErrorClass.TRANSIENT),
                              f"{len(exc.failures)} account(s) failed transiently", exc.retry_after_s)
    if isinstance(exc, ApiError):
        return Classification(exc.error_class in RETRYABLE, str(exc.error_class),
                              f"API error ({exc.error_class})", exc.retry_after_s)
    if isinstance(exc, AccountsFailed):
        return Classification(False, "accounts_failed", "accounts failed; the healthy ones were loaded")
    if isinstance(exc, _TRANSIENT_TYPES):
        return Classification(True, str(ErrorClass.TRANSIENT), type(exc).__name__)
    # DuckDB: another process holds the warehouse lock (a BI tool pointed at the wrong file, or a
    # writer outside the pool). Transient from the task's point of view.
    # `warehouse.connect` waits a bounded time for the lock, then raises WarehouseBusy.
    if (type(exc).__module__.lstrip("_").startswith("duckdb") and "lock" in str(exc).lower()
            or type(exc).__name__ == "WarehouseBusy"):
        return Classification(True, "warehouse_locked", "the DuckDB file is locked by another process")
    name = type(exc).__name__
    if name in ("RegistryError", "ValidationError", "ValueError", "KeyError", "TypeError"):
        return Classification(False, "invalid", f"invalid input or configuration ({name})")
    if name == "DbtBuildError":
        return Classification(False, "dbt_failed", "dbt models or tests failed")
    if name == "MartGateError":
        return Classification(False, "mart_gate_failed", "the marts failed their quality gate; not published")
    # Anything else is a bug or a broken environment: a retry repeats it, so fail fast and tell.
    return Classification(False, "error", name)


@dataclass
class Incident:
    """A concise, secret-free failure summary."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int | None
    error_type: str
    error_class: str
    message: str
    accounts: list[dict[str, Any]] = field(default_factory=list)
    by_error_class: dict[str, int] = field(default_factory=dict)
    quarantined: list[str] = field(default_factory=list)
    log_url: str | None = None

    @property
    def title(self) -> str:
        """One line: what failed, where."""
        who = f", {len(self.accounts)} account(s)" if self.accounts else ""
        return f"socialpulse: {self.dag_id}.{self.task_id} failed [{self.error_class}{who}] run {self.run_id}"

    def text(self) -> str:
        """A few lines for a log or a chat message."""
        lines = [self.title]
        if self.by_error_class:
            lines.append("by error class: " + ", ".join(f"{k}={v}" for k, v in sorted(self.by_error_class.items())))
        for item in self.accounts[:MAX_LISTED_ACCOUNTS]:
            lines.append(f"- {item['platform']}:{item['account_id']} [{item['error_class']}] {item['message']}")
        if len(self.accounts) > MAX_LISTED_ACCOUNTS:
            lines.append(f"- ... and {len(self.accounts) - MAX_LISTED_ACCOUNTS} more")
        if self.quarantined:
            lines.append("quarantined loads: " + ", ".join(self.quarantined))
        if not self.accounts:
            lines.append(f"{self.error_type}: {self.message}")
        if self.log_url:
            lines.append(f"log: {self.log_url}")
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """Webhook body: `text` is what Slack and Teams incoming webhooks display."""
        return {
            "text": self.text(),
            "dag_id": self.dag_id, "run_id": self.run_id, "task_id": self.task_id,
            "try_number": self.try_number, "error_class": self.error_class,
            "accounts": self.accounts, "by_error_class": self.by_error_class, "quarantined": self.quarantined,
        }


def incident(
    *, dag_id: str, run_id: str, task_id: str, exception: BaseException | str | None,
    try_number: int | None = None, log_url: str | None = None, secrets: tuple[str, ...] = (),
) -> Incident:
    """Summarise a failed task from its exception (structured failures when the exception has them)."""
    exc = exception if isinstance(exception, BaseException) else None
    classification = classify(exc) if exc is not None else Classification(False, "error", "unknown")
    accounts = [
        {
            "platform": str(f.get("platform", "?")),
            "account_id": str(f.get("account_id", "?")),
            "error_class": str(f.get("error_class") or "unknown"),
            "message": redact(str(f.get("message") or ""), secrets)[:200],
        }
        for f in getattr(exc, "failures", []) or []
    ]
    return Incident(
        dag_id=dag_id, run_id=run_id, task_id=task_id, try_number=try_number,
        error_type=type(exc).__name__ if exc is not None else "unknown",
        error_class=classification.error_class,
        message=_first_lines(redact(str(exception or ""), secrets)),
        accounts=accounts,
        by_error_class=dict(Counter(a["error_class"] for a in accounts)),
        quarantined=[str(q) for q in getattr(exc, "quarantined", []) or []],
        log_url=log_url,
    )


def _first_lines(text: str, lines: int = 6, chars: int = 600) -> str:
    """The head of an exception message: enough to say why, short enough for a chat message."""
    return "\n".join(text.strip().splitlines()[:lines])[:chars]


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float = WEBHOOK_TIMEOUT_S) -> int | None:
    """POST the incident as JSON; returns the HTTP status, or None when the webhook was unreachable.

    Never raises: an alerting outage must not hide the original failure. The URL (which often
    embeds a secret path) never appears in a log line.
    """
    try:
        resp = requests.post(url, json=payload, timeout=timeout_s)
    except requests.RequestException as exc:
        log.warning("incident webhook unreachable: %s", redact(type(exc).__name__ + ": " + str(exc), (url,)))
        return None
    if resp.status_code >= 300:
        log.warning("incident webhook answered HTTP %s", resp.status_code)
    else:
        log.info("incident sent to the webhook (HTTP %s)", resp.status_code)
    return resp.status_code


def webhook_url(conn_type: str | None, host: str | None, schema: str | None = None, port: int | None = None,
                extra: dict[str, Any] | None = None) -> str | None:
    """The webhook URL from an Airflow-Connection-shaped description (no Airflow import here).

    Accepted forms: `extra.webhook_url`; a full URL in `host`; or scheme (`schema` http/https, else
    the connection type), host, port and `extra.endpoint` (or a non-scheme `schema`, which is where
    Airflow puts the path of a connection URI such as `http://host:port/hook`).
    """
    extra = extra or {}
    if extra.get("webhook_url"):
        return str(extra["webhook_url"])
    if not host:
        return None
    if host.startswith(("http://", "https://")):
        return host
    schemes = ("http", "https")
    scheme = schema if schema in schemes else (conn_type if conn_type in schemes else "https")
    path = str(extra.get("endpoint") or (schema if schema and schema not in schemes else "") or "")
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}/{path.lstrip('/')}"
