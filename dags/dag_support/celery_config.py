"""Celery settings of socialpulse's Airflow workers: Airflow's own, plus a preload of the task modules.

`[celery] celery_config_options` names this module's CELERY_CONFIG (devtools.devenv.executor_env,
docker-compose.yml). The settings are exactly Airflow's defaults (built from airflow.cfg / the
AIRFLOW__CELERY__* environment); what this module adds is the `import_modules` receiver: Celery
sends that signal once in a worker's main process before the pool starts, so the modules imported
there (ingestion.pipeline.preload) are already in every task process the worker forks. Why, with the
figures: ingestion/pipeline/preload.py.

Imported as `dags.dag_support.celery_config`: Celery's app is built before Airflow puts the DAGs folder
on sys.path, and the checkout is on sys.path through the editable install (make, the Dockerfile).
The scheduler builds the same app to send tasks; the receiver never fires there.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

CELERY_CONFIG = DEFAULT_CELERY_CONFIG


@import_modules.connect
def preload_task_modules(*_args, **_kwargs) -> None:
    """Import the pipeline and its libraries once per worker, before the pool forks."""
    from ingestion.pipeline.preload import preload

    preload()
