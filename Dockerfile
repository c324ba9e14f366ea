# One image for every socialpulse service (Airflow components, the sandbox): the same locked
# virtualenv as `make`, so containers and local runs execute identical versions.
# The lock holds the production shape (Celery and PostgreSQL providers, psycopg2, the Redis client).
# Beyond it, the image adds only the FAB auth manager (real users and roles instead of the
# development-only simple auth manager).
FROM python:3.11.7-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 AIRFLOW_HOME=/opt/airflow
WORKDIR /opt/socialpulse
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock \
        apache-airflow-providers-fab==3.10.2 flask-appbuilder==5.2.2
COPY ingestion ingestion
COPY sandbox sandbox
# the sandbox service runs `socialpulse sandbox serve`: sandbox is a dev package, importable through the
# compat editable install below (the checkout on sys.path), not part of the wheel
COPY dags dags
COPY dbt_project dbt_project
COPY config config
RUN pip install --no-cache-dir --no-deps -e . --config-settings editable_mode=compat && useradd --uid 50000 --create-home airflow \
    && mkdir -p /data /opt/airflow/logs && chown -R airflow /data /opt/airflow
USER airflow
