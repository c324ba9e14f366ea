"""Failure notifier: a concise incident summary in the task log and, optionally, to a webhook.

Attached as `on_failure_callback` to every socialpulse task (through the default args). It runs in
the worker after the task failed for good (no tries left, or the retry policy said FAIL), so a
transient error that a retry fixes never alerts anybody.

The webhook is optional and configured by the Airflow Connection `socialpulse_alerts` (type http):
a Slack or Teams incoming-webhook URL in the host field, or `extra.webhook_url`, or
host/port/schema plus `extra.endpoint`. No connection, no webhook; the log line is always written.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

ALERTS_CONN_ID = "socialpulse_alerts"
log = logging.getLogger("socialpulse.incident")


def _webhook_from_connection(conn_id: str) -> str | None:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception:  # not configured (AirflowNotFoundException) or the API is unreachable
        return None
    from ingestion.pipeline.notify import webhook_url

    return webhook_url(conn.conn_type, conn.host, conn.schema, conn.port, conn.extra_dejson)


class IncidentNotifier(BaseNotifier):
    """Logs the incident; posts it to the `socialpulse_alerts` webhook when that connection exists."""

    def __init__(self, conn_id: str = ALERTS_CONN_ID):
        super().__init__()
        self.conn_id = conn_id

    def notify(self, context) -> None:
        from ingestion.pipeline.notify import incident, post_webhook

        ti = context.get("ti")
        dag_run = context.get("dag_run")
        item = incident(
            dag_id=getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?"),
            run_id=getattr(dag_run, "run_id", None) or str(context.get("run_id", "?")),
            task_id=_task_label(ti),
            exception=context.get("exception"),
            try_number=getattr(ti, "try_number", None),
            log_url=getattr(ti, "log_url", None),
        )
        log.error("INCIDENT %s", item.text())
        url = _webhook_from_connection(self.conn_id)
        if url:
            post_webhook(url, item.payload())


def _task_label(ti) -> str:
    if ti is None:
        return "?"
    index = getattr(ti, "map_index", -1)
    return f"{ti.task_id}[{index}]" if index is not None and index >= 0 else ti.task_id


INCIDENT_NOTIFIER = IncidentNotifier()
