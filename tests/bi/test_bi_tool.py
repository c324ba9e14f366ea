"""The BI tool (Apache Superset) checked without starting it: the dashboards as code against the marts the
dbt project defines, the import bundle built from a real published copy (read-only database, stable
UUIDs, native filters, both languages), the lock, the compose service and the user errors.
The live end-to-end run in Chromium is tests/bi/test_superset.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from ingestion.publish import bi_copy as publish
from tests.bi.dashboards import bind_cards, chart_columns, superset_bi
from tests.bi.dbt_schema import empty_marts, mart_columns

REPO = Path(__file__).resolve().parents[2]
TOPICS = {"follower_growth", "trends", "audience", "top_posts", "benchmarks", "data_health", "peers"}


def _labels(value) -> None:
    assert isinstance(value, dict) and set(value) == {"sv", "en"} and all(value.values()), value


def test_dashboards_cover_every_topic_in_both_languages():
    labels, dashboards = superset_bi.load_specs()
    assert {d["key"] for d in dashboards} == TOPICS
    for value in labels.values():
        _labels(value)
    for dash in dashboards:
        _labels(dash["title"])
        kinds = [c["viz"] for c in dash["charts"]]
        assert "big_number" in kinds, dash["key"]  # the number the browser test compares with the mart
        assert len({c["key"] for c in dash["charts"]}) == len(dash["charts"])
        for chart in dash["charts"]:
            _labels(chart["title"])
            assert chart["viz"] in superset_bi.VIZ and 1 <= chart.get("width", 6) <= superset_bi.GRID_COLUMNS
            for metric in chart.get("metrics", []) + ([chart["metric"]] if "metric" in chart else []):
                _labels(metric["label"])
                # Superset refuses sub-queries in ad-hoc SQL: "latest" selections belong in a virtual dataset.
                assert "select" not in metric["sql"].lower(), chart["key"]
            assert not any("select" in w.lower() for w in chart.get("where", [])), chart["key"]


def test_dashboard_definitions_bind_against_the_dbt_marts():
    """Every chart's columns, metrics and virtual dataset SQL bind against an empty copy of the marts
    built from the dbt model YAML (names and types; the gate's findings mart included), plus
    publish_log: a renamed column fails here."""
    defined = set(mart_columns())
    _labels_, dashboards = superset_bi.load_specs()
    for dash in dashboards:
        for sql in [d["sql"] for d in (dash.get("datasets") or {}).values()]:
            assert set(re.findall(r"\bmarts\.(\w+)", sql)) <= defined
            assert not re.search(r"\b(raw|staging|intermediate)\.", sql)
            assert not re.search(r"\b(insert|update|delete|create|drop|attach|copy|install|load)\b", sql, re.I)
    con = empty_marts({"main.publish_log": list(publish.LOG_COLUMNS)})
    try:
        assert bind_cards(con) == {}
    finally:
        con.close()


def _bundle(bi_settings, tmp_path, language="sv") -> tuple[dict, dict[str, dict]]:
    out = tmp_path / f"bundle-{language}.zip"
    summary = superset_bi.build_bundle(out, bi_settings.bi_dir / "socialpulse.duckdb", language)
    with zipfile.ZipFile(out) as bundle:
        files = {name.split("/", 1)[1]: yaml.safe_load(bundle.read(name)) for name in bundle.namelist()}
    return summary, files


def test_bundle_from_a_published_copy(bi_settings, tmp_path):
    """Only the growth marts are published by the hand-made warehouse: charts on other marts are left
    out (listed), the rest is Superset's asset format with the database read-only on the copy."""
    publish.publish(bi_settings)
    summary, files = _bundle(bi_settings, tmp_path)
    assert files["metadata.yaml"]["type"] == "assets"
    db = files["databases/socialpulse.yaml"]
    assert db["sqlalchemy_uri"] == f"duckdb:///{bi_settings.bi_dir / 'socialpulse.duckdb'}"
    assert db["extra"]["engine_params"] == {"connect_args": {"read_only": True}}  # no poolclass: NullPool
    assert not db["allow_dml"] and "warehouse" not in str(db)
    published = {"dim_accounts", "fct_account_daily", "fct_follower_growth_daily", "publish_log"}
    assert set(summary["datasets"]) == published
    charts = [f for name, f in files.items() if name.startswith("charts/")]
    dashboards = {name: f for name, f in files.items() if name.startswith("dashboards/")}
    assert len(dashboards) == len(TOPICS) and summary["skipped"]
    datasets = {f["uuid"]: f for name, f in files.items() if name.startswith("datasets/")}
    for chart in charts:
        assert chart["dataset_uuid"] in datasets  # never a chart on a dataset that is not there
    for dash in dashboards.values():
        filters = dash["metadata"]["native_filter_configuration"]
        assert [f["filterType"] for f in filters] == ["filter_select", "filter_select", "filter_time"]
        assert [f["name"] for f in filters] == ["Förvaltning", "Plattform", "Period"]
        chart_ids = {
            n["meta"]["chartId"]: n["meta"]["uuid"]
            for n in dash["position"].values()
            if isinstance(n, dict) and n.get("type") == "CHART"
        }
        by_uuid = {c["uuid"]: c for c in charts}
        for flt, column in zip(filters[:2], ("department", "platform"), strict=True):
            for chart_id, chart_uuid in chart_ids.items():
                cols = {c["column_name"] for c in datasets[by_uuid[chart_uuid]["dataset_uuid"]]["columns"]}
                assert (chart_id in flt["scope"]["excluded"]) == (column not in cols)


def test_bundle_is_stable_and_english_is_available(bi_settings, tmp_path):
    publish.publish(bi_settings)
    _s1, sv = _bundle(bi_settings, tmp_path)
    _s2, sv_again = _bundle(bi_settings, tmp_path / "again")
    assert sv == sv_again  # same UUIDs every run: Superset's importer updates in place
    _s3, en = _bundle(bi_settings, tmp_path, "en")
    assert {n: f.get("uuid") for n, f in sv.items()} == {n: f.get("uuid") for n, f in en.items()}
    titles = lambda files: {f["dashboard_title"] for n, f in files.items() if n.startswith("dashboards/")}  # noqa: E731
    assert "Följartillväxt" in titles(sv) and "Follower growth" in titles(en)


def test_lock_pins_what_superset_needs_and_the_same_duckdb():
    lock = dict(
        line.split("==")
        for line in (REPO / "bi/requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    lock = {k.lower().replace("_", "-"): v for k, v in lock.items()}
    assert lock["apache-superset"] == "6.1.0" and lock["sqlalchemy"].startswith("1.4.")
    assert {"rich", "cachetools", "duckdb-engine", "gunicorn"} <= set(lock)
    assert tuple(int(x) for x in lock["flask-caching"].split(".")[:2]) < (2, 4)
    main = {
        k.lower().replace("_", "-"): v
        for k, v in (line.split("==") for line in (REPO / "requirements.lock").read_text().splitlines() if "==" in line)
    }
    assert lock["duckdb"] == main["duckdb"]  # the BI side reads what the pipeline writes


def test_compose_serves_superset_from_the_same_lock_and_code():
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert "metabase" not in services
    bi = services["superset"]
    dockerfile = (REPO / bi["build"]["dockerfile"]).read_text()
    assert "bi/requirements.lock" in dockerfile and "superset_bi.py" in " ".join(bi["command"])
    assert "socialpulse-data:/data:ro" in bi["volumes"]
    assert bi["ports"] == ["127.0.0.1:8088:8088"]
    env = bi["environment"]
    assert not any(re.search(r"PASSWORD|SECRET|TOKEN", k) for k in env)
    assert all("warehouse" not in str(v) for v in env.values())


def test_user_errors_are_one_line_with_exit_2(tmp_path):
    env = {**os.environ, "SOCIALPULSE_HOME": str(tmp_path / "empty"), "SOCIALPULSE_BI_VENV": str(tmp_path / "no-venv")}
    script = str(REPO / "bi" / "superset_bi.py")
    out = subprocess.run([sys.executable, script, "setup"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "run the pipeline first" in out.stderr
    out = subprocess.run(
        [sys.executable, script, "setup"],
        env={**env, "SOCIALPULSE_BI_LANG": "de"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "sv, en" in out.stderr
    assert not (tmp_path / "no-venv").exists()  # checked before any venv is created


def test_chart_columns_helper_reads_every_named_column():
    chart = {"x": "metric_date", "groupby": ["platform"], "columns": ["name"], "order_by": ["followers desc"]}
    assert chart_columns(chart) == {"metric_date", "platform", "name", "followers"}
