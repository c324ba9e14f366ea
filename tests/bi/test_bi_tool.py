"""The BI tool (Metabase), validated statically (no Docker engine here): the compose service, the
image, the dashboards as code against the marts the dbt project defines, and the provisioning
script's REST calls against a stand-in that records them."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ingestion import publish
from tests.bi.dashboards import bind_cards, provision
from tests.bi.dbt_schema import empty_marts, mart_columns
from tests.bi.warehouse_factory import add_rows

REPO = Path(__file__).resolve().parents[2]
BI = REPO / "bi"
TOPICS = {"follower_growth", "trends", "audience", "top_posts", "benchmarks", "data_health"}
DISPLAYS = {"line", "bar", "row", "table", "scalar", "combo", "area", "pie", "progress"}




@pytest.fixture(scope="module")
def service() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["metabase"]


def test_compose_service_reads_the_published_copy_read_only(service):
    assert service["build"]["dockerfile"] == "bi/metabase/Dockerfile" and service["build"]["context"] == "."
    assert (REPO / service["build"]["dockerfile"]).is_file()
    assert service["volumes"] == ["socialpulse-data:/data:ro"]  # nothing it could write
    env = service["environment"]
    assert env["SOCIALPULSE_BI_DIR"] == "/data/bi" and env["SOCIALPULSE_BI_SOURCE"] in ("duckdb", "parquet")
    assert all("warehouse" not in str(v) for v in env.values())
    assert service["ports"] == ["127.0.0.1:3000:3000"]
    assert "localhost:3000/api/health" in " ".join(service["healthcheck"]["test"])
    assert not any(re.search(r"PASSWORD|SECRET|TOKEN", k) for k in env)  # generated in the container
    tag = service["image"].rpartition(":")[2]
    dockerfile = (REPO / "bi/metabase/Dockerfile").read_text()
    assert f"ARG METABASE_VERSION={tag}" in dockerfile


def test_image_is_debian_based_with_the_duckdb_driver_that_reads_v150():
    dockerfile = (BI / "metabase/Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert "alpine" not in base and re.search(r"(jammy|noble|bookworm|trixie)", base)  # glibc for the JNI library
    driver = re.search(r"ARG METABASE_DUCKDB_DRIVER_VERSION=(\S+)", dockerfile).group(1)
    assert driver.startswith("1.5.")  # bundles DuckDB 1.5: test_old_driver.py proves it opens the copy
    assert publish.STORAGE_VERSION == "v1.5.0"
    assert "duckdb.metabase-driver.jar" in dockerfile and "/plugins/" in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (REPO / source).exists(), source
    entrypoint = BI / "metabase/entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    text = entrypoint.read_text()
    assert "provision.py apply --wait" in text and "provision.py watch" in text


def test_dashboards_cover_every_topic_with_unique_well_formed_cards():
    dashboards = provision.load_dashboards()
    assert {d.key for d in dashboards} == TOPICS
    names = [c.name for d in dashboards for c in d.cards]
    assert len(names) == len(set(names))  # provisioning finds cards by name
    for dash in dashboards:
        assert dash.cards and dash.description
        for card in dash.cards:
            assert card.display in DISPLAYS, card.key
            assert 1 <= card.width <= provision.GRID_WIDTH and 2 <= card.height <= 12
            settings = card.visualization_settings
            if card.display in ("line", "bar", "row", "area", "combo"):
                assert settings.get("graph.dimensions") and settings.get("graph.metrics"), card.key
        placed = provision.layout(dash.cards)
        cells = set()
        for card, row, col in placed:
            assert col + card.width <= provision.GRID_WIDTH
            for r in range(row, row + card.height):
                for c in range(col, col + card.width):
                    assert (r, c) not in cells, f"{dash.key}: {card.key} overlaps"
                    cells.add((r, c))


def test_dashboard_sql_references_only_marts_and_columns_the_dbt_project_defines():
    """Every card binds against an empty copy of the marts built from the dbt model YAML (names and
    data types), plus the publish log: unknown tables or columns fail here, not in front of users."""
    defined = set(mart_columns())
    for dash in provision.load_dashboards():
        for card in dash.cards:
            assert card.marts <= defined, f"{dash.key}/{card.key} reads marts dbt does not define"
            assert not re.search(r"\b(raw|staging|intermediate)\.", card.sql), card.key
            assert "warehouse" not in card.sql
            assert not re.search(r"\b(insert|update|delete|create|drop|attach|copy|install|load)\b", card.sql, re.I)
    con = empty_marts({"main.publish_log": list(publish.LOG_COLUMNS)})
    try:
        assert bind_cards(con) == {}
    finally:
        con.close()


def test_connection_details_never_name_the_warehouse(bi_settings):
    publish.publish(bi_settings)
    bi_dir = bi_settings.bi_dir
    tag = provision.publish_tag(bi_dir)
    duck = provision.database_details("duckdb", bi_dir, tag)
    assert duck["database_file"] == str(bi_dir / "socialpulse.duckdb") and duck["read_only"] is True
    assert tag in duck["init_sql"]
    parquet = provision.database_details("parquet", bi_dir, tag)
    assert parquet["database_file"] == ":memory:"
    for mart in ("dim_accounts", "fct_account_daily", "fct_follower_growth_daily"):
        assert f"CREATE OR REPLACE VIEW marts.{mart} AS SELECT * FROM read_parquet('{bi_dir}/parquet/{mart}.parquet')" \
            in parquet["init_sql"]
    for details in (duck, parquet):
        assert "warehouse" not in json.dumps(details)
    # The parquet init SQL really defines the marts (run it in DuckDB, as the driver would).
    import duckdb

    con = duckdb.connect()
    con.execute(parquet["init_sql"])
    assert con.execute("select count(*) from marts.fct_follower_growth_daily").fetchall()[0][0] > 0
    assert con.execute("select count(*) from main.publish_log").fetchall()[0][0] == 3
    con.close()


class FakeMetabase:
    """Just enough of Metabase's REST API to record what provisioning does (ids, names, payloads)."""

    def __init__(self, tables: set[str]):
        self.calls: list[tuple[str, str, dict | None]] = []
        self.objects: dict[str, dict[int, dict]] = {"database": {}, "collection": {}, "card": {}, "dashboard": {}}
        self.tables = tables
        self.set_up = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                path = self.path.split("?")[0]
                fake.calls.append((method, path, body))
                if path not in ("/api/health", "/api/session/properties", "/api/setup", "/api/session") \
                        and self.headers.get("X-Metabase-Session") != "sess-1":
                    return self._reply(401, {"message": "Unauthenticated"})
                status, reply = fake.route(method, path, body)
                self._reply(status, reply)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, method: str, path: str, body):
        parts = path.strip("/").split("/")[1:]  # drop "api"
        if parts == ["health"]:
            return 200, {"status": "ok"}
        if parts == ["session", "properties"]:
            return 200, {"has-user-setup": self.set_up, "setup-token": None if self.set_up else "tok"}
        if parts == ["setup"]:
            assert body["token"] == "tok" and body["user"]["password"]
            self.set_up = True
            return 200, {"id": "sess-0"}
        if parts == ["session"]:
            return 200, {"id": "sess-1"}
        kind = parts[0]
        store = self.objects[kind]
        if len(parts) == 1 and method == "GET":
            items = list(store.values())
            return 200, ({"data": items} if kind == "database" else items)
        if len(parts) == 1 and method == "POST":
            new_id = len(store) + 1
            store[new_id] = {"id": new_id, **body}
            return 200, store[new_id]
        obj_id = int(parts[1])
        if len(parts) == 3 and parts[2] == "sync_schema":
            return 200, {"status": "ok"}
        if len(parts) == 3 and parts[2] == "metadata":
            return 200, {"tables": [{"name": t} for t in self.tables]}
        if method == "PUT":
            store[obj_id].update(body)
            return 200, store[obj_id]
        return 200, store[obj_id]

    def stop(self):
        self.server.shutdown()


def test_provisioning_creates_then_updates_in_place_and_refreshes_after_a_publish(bi_settings, tmp_path, monkeypatch):
    first = publish.publish(bi_settings)
    fake = FakeMetabase(tables=set())
    monkeypatch.setenv("MB_URL", fake.url)
    monkeypatch.setenv("SOCIALPULSE_BI_DIR", str(bi_settings.bi_dir))
    monkeypatch.setenv("MB_STATE_DIR", str(tmp_path / "mb-state"))
    monkeypatch.delenv("MB_ADMIN_PASSWORD", raising=False)
    try:
        cfg = provision._config()
        password_file = tmp_path / "mb-state" / "socialpulse-admin-password"
        assert oct(password_file.stat().st_mode & 0o777) == "0o600" and len(cfg["password"]) >= 24
        assert provision._config()["password"] == cfg["password"]  # generated once, then reused

        mb = provision.Metabase(fake.url)
        mb.login(cfg["email"], cfg["password"])
        dashboards = provision.load_dashboards()
        summary = provision.apply(mb, cfg, dashboards)
        db = fake.objects["database"][summary["database_id"]]
        assert db["engine"] == "duckdb" and db["details"]["read_only"] is True
        assert db["details"]["database_file"] == str(bi_settings.bi_dir / "socialpulse.duckdb")
        assert first.publish_id in db["details"]["init_sql"]
        # Only the growth marts are published here: cards on other marts are skipped, not broken.
        published = {"dim_accounts", "fct_account_daily", "fct_follower_growth_daily"}
        expected_cards = [c for d in dashboards for c in d.cards if c.marts <= published]
        assert len(fake.objects["card"]) == len(expected_cards)
        assert len(summary["skipped"]) == sum(len(d.cards) for d in dashboards) - len(expected_cards)
        for card in fake.objects["card"].values():
            query = card["dataset_query"]
            assert query["type"] == "native" and query["database"] == summary["database_id"]
            assert card["collection_id"] == summary["collection_id"]
        assert len(fake.objects["dashboard"]) == len(dashboards)
        data_health = fake.objects["dashboard"][summary["dashboards"]["data_health"]["id"]]
        assert {dc["card_id"] for dc in data_health["dashcards"]} <= set(fake.objects["card"])
        assert len(data_health["dashcards"]) == summary["dashboards"]["data_health"]["cards"] >= 3

        # Second apply: same objects updated in place, nothing duplicated.
        provision.apply(mb, cfg, dashboards)
        assert len(fake.objects["card"]) == len(expected_cards)
        assert len(fake.objects["dashboard"]) == len(dashboards)
        assert len(fake.objects["database"]) == 1 and len(fake.objects["collection"]) == 1

        # A new publish: refresh rewrites the connection details (Metabase drops its pool) and re-syncs.
        add_rows(bi_settings.warehouse, "fct_account_daily", 3)
        second = publish.publish(bi_settings)
        fake.calls.clear()
        assert provision.refresh(mb, cfg) == second.publish_id
        assert [(m, p) for m, p, _ in fake.calls if m != "GET"] == [
            ("PUT", f"/api/database/{summary['database_id']}"),
            ("POST", f"/api/database/{summary['database_id']}/sync_schema"),
        ]
        assert second.publish_id in fake.objects["database"][summary["database_id"]]["details"]["init_sql"]
        # watch notices the next publish by itself.
        add_rows(bi_settings.warehouse, "fct_account_daily", 3)
        fake.calls.clear()
        cfg["poll_s"] = 0.05
        watcher = threading.Thread(target=provision.watch, args=(mb, cfg), kwargs={"max_polls": 40})
        watcher.start()
        time.sleep(0.2)
        third = publish.publish(bi_settings)
        watcher.join(timeout=30)
        assert not watcher.is_alive()
        assert third.publish_id in fake.objects["database"][summary["database_id"]]["details"]["init_sql"]
    finally:
        fake.stop()
