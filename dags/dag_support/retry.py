"""Retry policy of every socialpulse task: retry transient failures only, fail fast on the rest.

Airflow 3.3 evaluates a task's `retry_policy` in the worker with the real exception. Which
exceptions are transient is decided in `ingestion.pipeline.notify.classify` (Airflow-free, unit-tested):
network errors, 5xx/throttling that outlived the HTTP layer's own retries, a locked DuckDB file.
Auth, permission and invalid-request errors, failed data checks and bugs fail at once: a retry
would only repeat them and delay the alert. Retries keep the task's exponential backoff
(`retry_exponential_backoff`); a platform's "retry after" hint overrides the delay.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import RetryPolicy
from airflow.sdk.definitions.retry_policy import RetryDecision


class TransientOnly(RetryPolicy):
    """RETRY for transient errors (default backoff, or the API's hint), FAIL for everything else."""

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        from ingestion.pipeline.notify import classify

        verdict = classify(exception)
        if not verdict.retryable:
            return RetryDecision.fail(reason=f"not retryable: {verdict.error_class} ({verdict.reason})")
        delay = timedelta(seconds=verdict.retry_after_s) if verdict.retry_after_s else None
        return RetryDecision.retry(delay=delay, reason=f"transient: {verdict.error_class} ({verdict.reason})")

    def serialize(self) -> dict:
        # Only a has_retry_policy flag is stored in the serialized DAG; the worker uses this object.
        return {"__type": "TransientOnly"}

    @classmethod
    def deserialize(cls, data: dict) -> TransientOnly:
        return cls()


TRANSIENT_ONLY = TransientOnly()
