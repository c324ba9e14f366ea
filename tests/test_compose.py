"""docker-compose.yml is validated statically (no Docker engine here): services, wiring, health
checks, pinned images, settings, volumes, and that every path it references exists. The Airflow
settings and worker commands are checked against devtools/devenv.py, the same functions the
real-scheduler tests start their PostgreSQL + Redis + Celery stack with (tests/airflow/services.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKERS = {"airflow-worker-1": "worker-1", "airflow-worker-2": "worker-2"}  # service: Celery host name
WRITER_WORKER = "airflow-worker-1"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", *WORKERS)
IMAGE_ROOT = "/opt/socialpulse"  # WORKDIR of the Dockerfile: the repo's files live under it
VAR_RE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def raw() -> str:
    return (REPO / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    return yaml.safe_load(raw)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    out = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def _env(service: dict) -> dict:
    return service.get("environment", {})


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_top_level_shape(compose):
    assert set(compose) <= {"services", "volumes", "networks", "x-airflow-env", "x-airflow"}
    assert "version" not in compose  # obsolete in the Compose spec


def test_services_are_the_airflow_components_postgres_redis_workers_and_sandbox(services):
    assert set(services) >= {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES, "sandbox"}
    assert "flower" not in services  # the Airflow UI shows workers' tasks; no second UI to secure
    for name, service in services.items():
        assert "image" in service or "build" in service, name
    assert {name for name, service in services.items() if "celery worker" in _command(service)} == set(WORKERS)


def test_images_are_pinned(services):
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: pin the image tag ({image})"
        if "build" not in service:
            assert re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9]+)?", tag), f"{name}: pin a full version ({image})"
    assert services["postgres"]["image"].startswith("postgres:16.")
    assert services["redis"]["image"].startswith("redis:7.")


def test_every_long_running_service_has_a_healthcheck_and_restarts(services):
    for name, service in services.items():
        if name == "airflow-init":
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and check.get("interval") and check.get("retries"), f"{name}: add a healthcheck"
        assert service.get("restart") in ("always", "unless-stopped"), name


def test_airflow_runs_the_celery_executor_on_postgres_as_the_tests_do(services):
    """Every Airflow service carries exactly the executor settings the tests' stack uses."""
    from devtools import devenv

    for name in ("airflow-init", *AIRFLOW_SERVICES):
        env = _env(services[name])
        conn, broker = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], env["AIRFLOW__CELERY__BROKER_URL"]
        assert conn.startswith("postgresql+psycopg2://") and "@postgres:5432/" in conn, name
        assert broker == "redis://redis:6379/0", name
        expected = devenv.executor_env(conn, broker)
        assert {key: env.get(key) for key in expected} == expected, name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("fab_auth_manager.FabAuthManager"), name
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "apache-airflow-providers-fab==" in dockerfile
    lock = (REPO / "requirements.lock").read_text()
    for package in ("apache-airflow-providers-celery==", "apache-airflow-providers-postgres==", "psycopg2-binary==",
                    "celery==", "redis=="):
        assert f"\n{package}" in lock, f"requirements.lock lacks {package}"


def test_workers_run_the_tests_worker_command_and_only_the_writer_host_takes_writer_tasks(services):
    import sys

    sys.path.insert(0, str(REPO / "dags"))
    from dag_support.pools import WRITER_QUEUE

    from devtools import devenv

    assert devenv.WRITER_QUEUE == WRITER_QUEUE
    for name, host in WORKERS.items():
        command = services[name]["command"]
        concurrency = command[command.index("--concurrency") + 1]
        assert concurrency == "${AIRFLOW_WORKER_CONCURRENCY:-4}", name
        assert command == ["airflow", *devenv.worker_args(host, writer=name == WRITER_WORKER, concurrency=concurrency)]
        assert _env(services[name])["CELERY_NODE"] == host
        assert 'inspect ping -d "celery@$${CELERY_NODE}"' in " ".join(services[name]["healthcheck"]["test"]), name
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_execution_api_url_matches_the_api_server_port(services):
    api = services["airflow-apiserver"]
    port = api["command"][api["command"].index("--port") + 1]
    assert any(mapping.endswith(f":{port}") for mapping in api["ports"])
    for name, service in services.items():
        if name.startswith("airflow"):
            assert _env(service)["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
                f"http://airflow-apiserver:{port}/execution/", name


def test_airflow_services_wait_for_init_and_share_the_landing_area_and_logs(services):
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "socialpulse-landing:/data/landing" in service["volumes"], name
        assert "airflow-logs:/opt/airflow/logs" in service["volumes"]
        assert _env(service)["SOCIALPULSE_HOME"] == "/data"
        # Only the writer host (and the non-task components) see the warehouse's volume.
        assert ("socialpulse-data:/data" in service["volumes"]) == (name not in WORKERS or name == WRITER_WORKER), name
    assert services["airflow-scheduler"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_init_migrates_creates_the_pools_and_the_admin_user(services):
    command = _command(services["airflow-init"])
    assert "airflow db migrate" in command
    pools = re.search(r"airflow pools import (\S+)", command).group(1)
    assert pools.startswith(IMAGE_ROOT) and (REPO / pools.removeprefix(IMAGE_ROOT + "/")).is_file()
    assert "airflow users create --role Admin" in command
    assert _env(services["airflow-init"])["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")


def test_sandbox_is_a_demo_profile_and_airflow_is_not(services):
    assert services["sandbox"]["profiles"] == ["demo"]
    for name in ("postgres", "redis", "airflow-init", *AIRFLOW_SERVICES):
        assert "profiles" not in services[name], name


def test_volumes_are_declared_and_bind_mounts_exist(compose, services):
    declared = set(compose["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source, target = mount.split(":")[:2]
            assert target.startswith("/"), f"{name}: {mount}"
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: host path {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_paths_inside_the_image_exist_in_the_repo(raw):
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"WORKDIR {IMAGE_ROOT}" in dockerfile
    for path in sorted(set(re.findall(rf"{IMAGE_ROOT}/([\w./-]+)", raw))):
        assert (REPO / path).exists(), f"docker-compose.yml references {IMAGE_ROOT}/{path}, missing in the repo"
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (REPO / source).exists(), f"Dockerfile copies {source}, missing in the repo"


def test_every_setting_is_listed_in_env_example(raw, services, env_example):
    referenced = set(VAR_RE.findall(raw))
    assert referenced <= set(env_example), f"add to .env.example: {sorted(referenced - set(env_example))}"
    fixed_in_containers = {"SOCIALPULSE_HOME", "SOCIALPULSE_ACCOUNTS"}
    assert set(env_example) - fixed_in_containers <= referenced, "stale keys in .env.example"

    from ingestion.core.settings import Settings

    airflow_env = _env(services["airflow-scheduler"])
    for field in Settings.model_fields:
        key = f"SOCIALPULSE_{field.upper()}"
        assert key in env_example, f".env.example lacks {key}"
        assert key in airflow_env, f"the Airflow services do not pass {key}"


def test_secrets_come_from_env_not_from_the_file(raw, services):
    for name, service in services.items():
        for key, value in _env(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|FERNET", key) and value not in ("", None):
                assert str(value).startswith("${"), f"{name}: {key} is hard-coded"
    required = {m for m in re.findall(r"\$\{([A-Z0-9_]+):\?", raw)}
    assert {"POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD"} <= required


def test_published_ports_bind_to_loopback_only(services):
    for name, service in services.items():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} on every interface"


def test_no_service_points_at_the_working_warehouse(services):
    # BI tools read /data/bi only: a reader of warehouse.duckdb blocks the nightly writer.
    for name, service in services.items():
        for item in [*service.get("volumes", []), *map(str, _env(service).values())]:
            assert "warehouse.duckdb" not in item, f"{name}: {item}"


def test_dockerfile_installs_from_the_lock():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.M)
    for path in ("ingestion", "sandbox", "dags", "dbt_project", "config"):
        assert f"COPY {path} {path}" in dockerfile
