"""docker-compose.yml is validated statically (no Docker engine here): services, wiring, ports."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_services_are_the_airflow_components_postgres_and_sandbox():
    services = _compose()["services"]
    assert set(services) >= {
        "postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
        "airflow-triggerer", "sandbox",
    }
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_execution_api_url_matches_the_api_server_port():
    services = _compose()["services"]
    api = services["airflow-apiserver"]
    port = api["command"][api["command"].index("--port") + 1]
    for name, service in services.items():
        url = service.get("environment", {}).get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL")
        if name.startswith("airflow"):
            assert url == f"http://airflow-apiserver:{port}/execution/", name


def test_airflow_services_wait_for_init_and_share_the_data_volume():
    services = _compose()["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = services[name]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert "socialpulse-data:/data" in service["volumes"]
        assert service["environment"]["SOCIALPULSE_HOME"] == "/data"
    assert "duckdb_writer 1" in " ".join(services["airflow-init"]["command"])


def test_published_ports_bind_to_loopback_only():
    for name, service in _compose()["services"].items():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} on every interface"


def test_dockerfile_installs_from_the_lock():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    for path in ("ingestion", "sandbox", "dags", "dbt_project"):
        assert f"COPY {path} {path}" in dockerfile
