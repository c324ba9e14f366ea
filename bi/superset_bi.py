#!/usr/bin/env python3
"""Apache Superset for socialpulse: its own virtualenv, its state under $SOCIALPULSE_HOME/superset, the
published copy registered read-only, and the dashboards of bi/dashboards/*.yaml imported as code.

    superset_bi.py setup      venv (cached), metadata DB, admin user, import: idempotent, then exits
    superset_bi.py serve      setup, then serve the UI (gunicorn) on SOCIALPULSE_BI_PORT (8088)
    superset_bi.py serve --wait-for-publish   the same, after waiting for the first publish (container)
    superset_bi.py bundle OUT write the import ZIP (Superset's asset import format) and exit

Why a script rather than `pip install` into .venv: Superset 6.1 pins SQLAlchemy 1.4 and Flask 3.1,
Airflow 3 needs SQLAlchemy 2 (STACK_NOTES §8): it gets .venv-bi from bi/requirements.lock. The top of
this file is standard library only, so any Python 3.11 can create the venv; the rest re-runs inside it.

Idempotent: every object of the bundle has a UUID derived from its key (uuid5), and Superset's importer
overwrites objects with the same UUID, so a re-run updates in place and never duplicates.

Environment: SOCIALPULSE_HOME (./data), SOCIALPULSE_BI_PORT (8088), SOCIALPULSE_BI_HOST (127.0.0.1),
SOCIALPULSE_BI_LANG (sv | en: dashboard, chart and column labels), SOCIALPULSE_BI_VENV (<repo>/.venv-bi),
SOCIALPULSE_BI_WORKERS (2), SOCIALPULSE_BI_STATE ($SOCIALPULSE_HOME/superset).
Exit codes: 0 ok, 2 user error (no published copy, bad language), 3 a Superset step failed (its output
is in $SOCIALPULSE_HOME/superset/setup.log).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOCK = HERE / "requirements.lock"
CONFIG = HERE / "superset" / "superset_config.py"
DASHBOARDS_DIR = HERE / "dashboards"
LANGS = ("sv", "en")
ADMIN = "admin"
NAMESPACE = uuid.UUID("5b0c1a7e-2f4d-4c1e-9a55-50c1a1b1d0e5")  # socialpulse's namespace for object UUIDs
DATABASE_NAME = "socialpulse"
BI_FILE = "socialpulse.duckdb"
GRID_COLUMNS = 12  # Superset dashboards are 12 columns wide


class UserError(Exception):
    """A problem the user can fix (exit 2, one line)."""


class StepError(Exception):
    """A Superset command failed (exit 3); the log has its output."""


# ------------------------------------------------------------------------------------------------
# Paths and state (standard library)
# ------------------------------------------------------------------------------------------------


def home() -> Path:
    return Path(os.environ.get("SOCIALPULSE_HOME") or REPO / "data").resolve()


def state_dir() -> Path:
    """Superset's own state (metadata DB, secret key, admin password): $SOCIALPULSE_HOME/superset, or
    SOCIALPULSE_BI_STATE where the data folder is mounted read-only (the container)."""
    return Path(os.environ.get("SOCIALPULSE_BI_STATE") or home() / "superset").resolve()


def bi_file() -> Path:
    return home() / "bi" / BI_FILE


def venv_dir() -> Path:
    return Path(os.environ.get("SOCIALPULSE_BI_VENV") or REPO / ".venv-bi").resolve()


def lang() -> str:
    value = os.environ.get("SOCIALPULSE_BI_LANG") or "sv"
    if value not in LANGS:
        raise UserError(f"SOCIALPULSE_BI_LANG must be one of {', '.join(LANGS)}, not {value!r}")
    return value


def port() -> int:
    return int(os.environ.get("SOCIALPULSE_BI_PORT") or 8088)


def _write_private(path: Path, text: str) -> None:
    """Create a file readable by its owner only (0600) without a window where it is wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def password_file() -> Path:
    return state_dir() / "admin-password"


def superset_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SUPERSET_CONFIG_PATH": str(CONFIG),
            "SOCIALPULSE_SUPERSET_STATE": str(state_dir()),
            "FLASK_APP": "superset.app:create_app()",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]


def ensure_venv(log=print) -> Path:
    """Create .venv-bi from bi/requirements.lock unless it already holds this lock (stamp = lock digest).
    Returns its python. Takes ~1.5-3 min from a warm pip cache on 2 cores, seconds when cached."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == lock_digest():
        return python
    started = time.monotonic()
    log(f"bi: creating Superset's virtualenv {venv} from {LOCK.relative_to(REPO)} (a few minutes, once)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(LOCK)], check=True
    )
    stamp.write_text(lock_digest() + "\n")
    log(f"bi: virtualenv ready in {time.monotonic() - started:.0f}s")
    return python


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == venv_dir()


# ------------------------------------------------------------------------------------------------
# Dashboards as code -> Superset's import bundle (runs inside .venv-bi: needs yaml and duckdb)
# ------------------------------------------------------------------------------------------------


def object_uuid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def load_specs(folder: Path = DASHBOARDS_DIR) -> tuple[dict, list[dict]]:
    """(labels, dashboards): bi/dashboards/labels.yaml and every other *.yaml, in file-name order."""
    import yaml

    labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
    dashboards = [
        yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml")) if p.name != "labels.yaml"
    ]
    return labels, dashboards


def text(value, language: str) -> str:
    """A label: either a plain string or {sv: ..., en: ...}."""
    return value[language] if isinstance(value, dict) else value


def published_columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, type)]} of the published copy: schema marts plus main.publish_log."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' or (table_schema = 'main' and table_name = 'publish_log') "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for _schema, table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return out


def virtual_columns(path: Path, sql: str) -> list[tuple[str, str]]:
    """Column names and types of a virtual dataset's SQL, from DuckDB (without running it)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return [(r[0], r[1]) for r in con.execute(f"describe {sql}").fetchall()]
    finally:
        con.close()


TEMPORAL_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
TIME_COLUMNS = ("metric_date", "week_start", "month_start", "published_local_date", "published_at")


def dataset_yaml(
    key: str,
    columns: list[tuple[str, str]],
    labels: dict,
    language: str,
    *,
    schema: str | None,
    table: str | None = None,
    sql: str | None = None,
) -> dict:
    names = [c for c, _ in columns]
    main_dttm = next((c for c in TIME_COLUMNS if c in names), None)
    return {
        "table_name": table or key,
        "schema": schema,
        "sql": sql,
        "main_dttm_col": main_dttm,
        "description": None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": 0,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "params": None,
        "template_params": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": object_uuid("dataset", key),
        "database_uuid": object_uuid("database", DATABASE_NAME),
        "version": "1.0.0",
        "metrics": [
            {
                "metric_name": "count",
                "verbose_name": text(labels.get("count", "count"), language),
                "metric_type": "count",
                "expression": "COUNT(*)",
                "description": None,
                "d3format": None,
                "extra": None,
                "warning_text": None,
            }
        ],
        "columns": [
            {
                "column_name": name,
                "verbose_name": text(labels[name], language) if name in labels else None,
                "is_dttm": dtype in TEMPORAL_TYPES,
                "is_active": True,
                "type": dtype,
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": None,
                "python_date_format": None,
                "extra": None,
                "advanced_data_type": None,
            }
            for name, dtype in columns
        ],
    }


def _metric(spec: dict, language: str) -> dict:
    return {
        "expressionType": "SQL",
        "sqlExpression": spec["sql"],
        "label": text(spec["label"], language),
        "hasCustomLabel": True,
        "optionName": "metric_" + hashlib.sha1(spec["sql"].encode()).hexdigest()[:10],
    }


def chart_params(chart: dict, dataset_columns: list[str], language: str) -> dict:
    """Superset form data for the few chart kinds the specs use (big_number, line, bar, table, heatmap)."""
    kind = chart["viz"]
    time_col = chart.get("time_column") or next((c for c in TIME_COLUMNS if c in dataset_columns), None)
    # A TEMPORAL_RANGE filter on the time column is what the dashboard's date-range filter replaces.
    adhoc = (
        [
            {
                "clause": "WHERE",
                "expressionType": "SIMPLE",
                "subject": time_col,
                "operator": "TEMPORAL_RANGE",
                "comparator": "No filter",
            }
        ]
        if time_col
        else []
    )
    adhoc += [{"clause": "WHERE", "expressionType": "SQL", "sqlExpression": w} for w in chart.get("where", [])]
    base = {
        "viz_type": VIZ[kind],
        "adhoc_filters": adhoc,
        "extra_form_data": {},
        "row_limit": chart.get("limit", 10000),
        "color_scheme": "supersetColors",
        "dashboards": [],
    }
    if kind == "big_number":
        return {
            **base,
            "metric": _metric(chart["metric"], language),
            "y_axis_format": chart.get("format", ",d"),
            "header_font_size": 0.3,
            "subheader_font_size": 0.125,
            "subheader": text(chart.get("subheader", ""), language),
        }
    if kind in ("line", "bar"):
        x = chart["x"]
        params = {
            **base,
            "x_axis": x,
            "metrics": [_metric(m, language) for m in chart["metrics"]],
            "groupby": chart.get("groupby", []),
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "rich_tooltip": True,
            "y_axis_format": chart.get("format", "SMART_NUMBER"),
            "x_axis_sort_asc": True,
            "truncateXAxis": True,
            "order_desc": True,
        }
        if x in TIME_COLUMNS:
            params["time_grain_sqla"] = chart.get("time_grain", "P1D")
        else:
            params["x_axis_sort"] = x
        if "rolling_mean" in chart:
            params.update({"rolling_type": "mean", "rolling_periods": chart["rolling_mean"], "min_periods": 1})
        if kind == "bar" and chart.get("horizontal"):
            params["orientation"] = "horizontal"
        return params
    if kind == "table":
        # Ratios are stored as fractions in the marts: show them as percentages.
        base["column_config"] = {
            c: {"d3NumberFormat": ".1%"}
            for c in chart.get("columns", []) + chart.get("groupby", [])
            if c.endswith(("_pct", "_share")) or "percentile" in c or "rate" in c
        }
        if "metrics" in chart:
            return {
                **base,
                "query_mode": "aggregate",
                "groupby": chart["groupby"],
                "metrics": [_metric(m, language) for m in chart["metrics"]],
                "timeseries_limit_metric": _metric(chart["metrics"][0], language),
                "order_desc": True,
                "table_timestamp_format": "%Y-%m-%d",
                "server_pagination": False,
                "include_search": False,
            }
        return {
            **base,
            "query_mode": "raw",
            "all_columns": chart["columns"],
            "order_by_cols": [
                json.dumps([c.removesuffix(" desc"), not c.endswith(" desc")]) for c in chart.get("order_by", [])
            ],
            "table_timestamp_format": "%Y-%m-%d",
            "server_pagination": False,
            "include_search": False,
        }
    if kind == "heatmap":
        return {
            **base,
            "x_axis": chart["x"],
            "groupby": chart["y"],
            "metric": _metric(chart["metric"], language),
            "normalize_across": "heatmap",
            "legend_type": "continuous",
            "linear_color_scheme": "blue_white_yellow",
            "xscale_interval": -1,
            "yscale_interval": -1,
            "left_margin": "auto",
            "bottom_margin": "auto",
            "value_bounds": [None, None],
            "y_axis_format": "SMART_NUMBER",
            "show_legend": True,
            "sort_x_axis": "alpha_asc",
            "sort_y_axis": "alpha_asc",
        }
    raise ValueError(f"unknown chart kind {kind!r}")


VIZ = {
    "big_number": "big_number_total",
    "line": "echarts_timeseries_line",
    "bar": "echarts_timeseries_bar",
    "table": "table",
    "heatmap": "heatmap_v2",
}
FILTERS = ("department", "platform", "date")


def build_bundle(out: Path, bi_path: Path, language: str, folder: Path = DASHBOARDS_DIR) -> dict:
    """Write Superset's import ZIP for every dashboard; returns a summary (what was skipped and why).

    Datasets: one per published mart (schema marts) plus publish_log, and the virtual datasets the
    dashboards declare. A chart whose dataset reads a mart that is not in the published copy is left
    out (listed under "skipped"), so a mart that has not shipped yet never shows as a broken chart.
    """
    import yaml

    labels, dashboards = load_specs(folder)
    tables = published_columns(bi_path)
    files: dict[str, dict] = {
        "metadata.yaml": {"version": "1.0.0", "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"},
        f"databases/{DATABASE_NAME}.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": f"duckdb:///{bi_path}",
            "cache_timeout": 0,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_csv_upload": False,
            # read_only: the BI side never writes; no poolclass: Superset's NullPool (see superset_config.py).
            "extra": {
                "engine_params": {"connect_args": {"read_only": True}},
                "allows_virtual_table_explore": True,
                "metadata_cache_timeout": {"schema_cache_timeout": 0, "table_cache_timeout": 0},
            },
            "uuid": object_uuid("database", DATABASE_NAME),
            "version": "1.0.0",
        },
    }
    dataset_cols: dict[str, list[str]] = {}
    for table, columns in tables.items():
        schema = "main" if table == "publish_log" else "marts"
        files[f"datasets/{DATABASE_NAME}/{table}.yaml"] = dataset_yaml(table, columns, labels, language, schema=schema)
        dataset_cols[table] = [c for c, _ in columns]
    summary: dict = {"dashboards": {}, "skipped": [], "datasets": sorted(tables)}
    for dash in dashboards:
        for key, vds in (dash.get("datasets") or {}).items():
            import re

            needed = set(re.findall(r"\bmarts\.(\w+)", vds["sql"]))
            if needed - set(tables):
                summary["skipped"].append(f"dataset {key}: needs {sorted(needed - set(tables))}")
                continue
            columns = virtual_columns(bi_path, vds["sql"])
            files[f"datasets/{DATABASE_NAME}/{key}.yaml"] = dataset_yaml(
                key, columns, labels, language, schema="marts", sql=vds["sql"].strip()
            )
            dataset_cols[key] = [c for c, _ in columns]
        position, rows, row, used = _grid(dash["key"]), [], [], 0
        chart_ids: dict[str, int] = {}
        for chart in dash["charts"]:
            if chart["dataset"] not in dataset_cols:
                summary["skipped"].append(f"{dash['key']}/{chart['key']}: dataset {chart['dataset']} not published")
                continue
            chart_key = f"{dash['key']}.{chart['key']}"
            chart_uuid = object_uuid("chart", chart_key)
            chart_ids[chart["key"]] = len(chart_ids) + 1
            params = chart_params(chart, dataset_cols[chart["dataset"]], language)
            files[f"charts/{chart_key}.yaml"] = {
                "slice_name": text(chart["title"], language),
                "description": text(chart.get("description", ""), language) or None,
                "viz_type": params["viz_type"],
                "params": params,
                "query_context": None,
                "cache_timeout": 0,
                "uuid": chart_uuid,
                "version": "1.0.0",
                "dataset_uuid": object_uuid("dataset", chart["dataset"]),
            }
            width = chart.get("width", 6)
            if used + width > GRID_COLUMNS:
                rows.append(row)
                row, used = [], 0
            row.append((chart, chart_uuid, chart_ids[chart["key"]], width))
            used += width
        if row:
            rows.append(row)
        for i, items in enumerate(rows):
            row_id = f"ROW-{dash['key']}-{i}"
            position[row_id] = {
                "type": "ROW",
                "id": row_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
            position["GRID_ID"]["children"].append(row_id)
            for chart, chart_uuid, chart_id, width in items:
                node = f"CHART-{chart['key']}"
                position[row_id]["children"].append(node)
                position[node] = {
                    "type": "CHART",
                    "id": node,
                    "children": [],
                    "parents": ["ROOT_ID", "GRID_ID", row_id],
                    "meta": {
                        "chartId": chart_id,
                        "uuid": chart_uuid,
                        "width": width,
                        "height": chart.get("height", 50),
                        "sliceName": text(chart["title"], language),
                    },
                }
        position["HEADER_ID"]["meta"]["text"] = text(dash["title"], language)
        filters = _native_filters(dash, chart_ids, dataset_cols, labels, language)
        files[f"dashboards/{dash['key']}.yaml"] = {
            "dashboard_title": text(dash["title"], language),
            "description": None,
            "css": "",
            "slug": dash["key"].replace("_", "-"),
            "uuid": object_uuid("dashboard", dash["key"]),
            "position": position,
            "published": True,
            "version": "1.0.0",
            "certified_by": None,
            "certification_details": None,
            "metadata": {
                "native_filter_configuration": filters,
                "color_scheme": "supersetColors",
                "refresh_frequency": 0,
                "expanded_slices": {},
                "timed_refresh_immune_slices": [],
                "cross_filters_enabled": False,
                "default_filters": "{}",
                "shared_label_colors": [],
                "label_colors": {},
                "chart_configuration": {},
                "global_chart_configuration": {},
            },
        }
        summary["dashboards"][dash["key"]] = {
            "charts": len(chart_ids),
            "slug": dash["key"].replace("_", "-"),
            "title": text(dash["title"], language),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as bundle:
        for name, body in files.items():
            bundle.writestr(f"socialpulse_bundle/{name}", yaml.safe_dump(body, allow_unicode=True, sort_keys=False))
    return summary


def _grid(key: str) -> dict:
    return {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": key}},
    }


def _native_filters(
    dash: dict, chart_ids: dict[str, int], dataset_cols: dict[str, list[str]], labels: dict, language: str
) -> list[dict]:
    """Department, platform and date range on every dashboard. A chart whose dataset lacks the column
    is out of that filter's scope (Superset would otherwise send a filter on a column it does not have)."""
    charts = {c["key"]: c for c in dash["charts"] if c["key"] in chart_ids}
    out = []
    for name in FILTERS:
        if name == "date":
            column, ftype = None, "filter_time"
            excluded = [
                chart_ids[k]
                for k, c in charts.items()
                if not (c.get("time_column") or any(t in dataset_cols[c["dataset"]] for t in TIME_COLUMNS))
            ]
        else:
            column, ftype = name, "filter_select"
            excluded = [chart_ids[k] for k, c in charts.items() if name not in dataset_cols[c["dataset"]]]
        filter_id = "NATIVE_FILTER-" + object_uuid("filter", f"{dash['key']}.{name}")[:18]
        control = (
            {
                "enableEmptyFilter": False,
                "multiSelect": True,
                "searchAllOptions": False,
                "defaultToFirstItem": False,
                "inverseSelection": False,
            }
            if column
            else {"enableEmptyFilter": False}
        )
        out.append(
            {
                "id": filter_id,
                "name": text(labels[f"filter_{name}"], language),
                "filterType": ftype,
                "type": "NATIVE_FILTER",
                "targets": [{"column": {"name": column}, "datasetUuid": object_uuid("dataset", "dim_accounts")}]
                if column
                else [{}],
                "controlValues": control,
                "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
                "cascadeParentIds": [],
                "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
                "description": "",
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# Superset commands (inside .venv-bi)
# ------------------------------------------------------------------------------------------------


def _superset(args: list[str], log_path: Path, stdin: str | None = None, python: bool = False) -> None:
    """Run `superset ARGS` (or `python ARGS` in .venv-bi), output appended to the setup log."""
    program = venv_dir() / "bin" / ("python" if python else "superset")
    with log_path.open("a") as log:
        log.write(f"\n$ {program.name} {' '.join(args)}\n")
        log.flush()
        result = subprocess.run(
            [str(program), *args],
            env=superset_env(),
            input=stdin,
            text=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state_dir(),
        )
    if result.returncode != 0:
        raise StepError(f"`{program.name} {' '.join(args)}` failed (exit {result.returncode}); see {log_path}")


def setup(log=print) -> dict:
    """Metadata DB, admin user, the published copy and every dashboard; safe to repeat."""
    language = lang()
    source = bi_file()
    if not source.exists():
        raise UserError(f"no published copy at {source}: run the pipeline first (make demo)")
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    if not (state / "secret_key").exists():
        _write_private(state / "secret_key", secrets.token_urlsafe(48))
    log_path = state / "setup.log"
    import importlib.metadata

    version = importlib.metadata.version("apache-superset")
    stamp = state / f".initialised-{version}"
    bundle = state / "bundle.zip"
    summary = build_bundle(bundle, source, language)
    steps = [] if stamp.exists() else ["--upgrade"]  # db upgrade + init: once per Superset version
    created = not password_file().exists()
    password = secrets.token_urlsafe(18) if created else password_file().read_text().strip()
    started = time.monotonic()
    # One process: migrate (first run), the admin user (created if missing; the password through
    # stdin, never argv or the log), then the import.
    _superset(
        [str(HERE / "superset" / "provision_app.py"), str(bundle), ADMIN, *steps, "--create-admin"],
        log_path,
        stdin=password + "\n",
        python=True,
    )
    if steps:
        stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")
    if created:
        _write_private(password_file(), password + "\n")
        log(f"bi: admin user '{ADMIN}' created; password (shown once, kept in {password_file()}, mode 600): {password}")
    log(f"bi: provisioned in {time.monotonic() - started:.0f}s ({state / 'superset.db'})")
    log(
        f"bi: imported {len(summary['dashboards'])} dashboards ({language}), {len(summary['datasets'])} mart datasets"
        + (f"; skipped: {'; '.join(summary['skipped'])}" if summary["skipped"] else "")
    )
    return summary


def serve_command(bind_port: int | None = None) -> list[str]:
    """gunicorn serving Superset (what `make bi` and the container run; `superset run` is Flask's dev server)."""
    host = os.environ.get("SOCIALPULSE_BI_HOST") or "127.0.0.1"
    workers = os.environ.get("SOCIALPULSE_BI_WORKERS") or "2"
    return [
        str(venv_dir() / "bin" / "gunicorn"),
        "--bind",
        f"{host}:{bind_port or port()}",
        "--workers",
        workers,
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "superset.app:create_app()",
    ]


# `socialpulse bi` subcommands: (line in the command list, description on the command's own --help).
_COMMANDS = {
    "setup": (
        "create or update everything (venv, metadata DB, admin user, dashboards), then exit",
        "Create or update everything (venv, metadata DB, admin user, dashboards), then exit.",
    ),
    "serve": (
        "setup, then serve the UI on SOCIALPULSE_BI_PORT (8088); the default",
        "Setup, then serve the UI with gunicorn on SOCIALPULSE_BI_HOST:SOCIALPULSE_BI_PORT.",
    ),
    "bundle": (
        "write Superset's import ZIP for the current publish, then exit",
        "Write Superset's asset import ZIP for the current publish, then exit.",
    ),
}


def _parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="socialpulse bi",
        description="Apache Superset on the published marts: its own venv (.venv-bi), "
        "state under $SOCIALPULSE_HOME/superset, the dashboards of bi/dashboards (docs/bi.md).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(_COMMANDS) + "}")
    commands = {name: sub.add_parser(name, help=short, description=long) for name, (short, long) in _COMMANDS.items()}
    commands["serve"].add_argument(
        "--wait-for-publish",
        action="store_true",
        help="wait for the pipeline's first publish instead of failing (the container)",
    )
    commands["bundle"].add_argument("out", help="path of the ZIP file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parsed = _parser().parse_args(args)  # --help exits 0 here, before any venv is created
    command = parsed.command or "serve"
    try:
        lang()
        if getattr(parsed, "wait_for_publish", False):
            while not bi_file().exists():  # the container may start before the pipeline's first publish
                time.sleep(10)
        if command != "bundle" and not bi_file().exists():
            raise UserError(f"no published copy at {bi_file()}: run the pipeline first (make demo)")
        if not in_venv():
            python = ensure_venv()
            os.execv(str(python), [str(python), str(Path(__file__).resolve()), *args])
        if command == "bundle":
            print(json.dumps(build_bundle(Path(parsed.out), bi_file(), lang()), indent=2))
            return 0
        setup()
        if command == "serve":
            print(
                f"bi: Superset on http://{os.environ.get('SOCIALPULSE_BI_HOST') or '127.0.0.1'}:{port()} "
                f"(user {ADMIN}, password in {password_file()})",
                flush=True,
            )
            os.chdir(state_dir())
            os.execve(serve_command()[0], serve_command(), superset_env())
        return 0
    except UserError as exc:
        print(f"bi: {exc}", file=sys.stderr)
        return 2
    except (StepError, subprocess.CalledProcessError) as exc:
        print(f"bi: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
