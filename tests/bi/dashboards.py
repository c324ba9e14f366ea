"""bi/superset_bi.py loaded as a module (bi/ is not a package: the script also runs inside .venv-bi and
the Superset image), and a helper that binds every dashboard definition against a DuckDB connection."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("bi_superset", REPO / "bi" / "superset_bi.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bi_superset"] = module
    spec.loader.exec_module(module)
    return module


superset_bi = sys.modules.get("bi_superset") or _load()


def chart_columns(chart: dict) -> set[str]:
    """Every column a chart names (axes, groupings, table columns, metric and filter SQL identifiers)."""
    named = {
        chart.get("x"),
        chart.get("y"),
        chart.get("time_column"),
        *chart.get("groupby", []),
        *chart.get("columns", []),
    }
    named |= {c.removesuffix(" desc") for c in chart.get("order_by", [])}
    return {c for c in named if c}


def bind_cards(con, only_marts: set[str] | None = None) -> dict[str, str]:
    """{dashboard/item: error} for every virtual dataset, chart metric and chart column that does not bind
    against `con` (schema marts + main.publish_log). Items on marts outside `only_marts` are skipped."""
    _labels, dashboards = superset_bi.load_specs()
    errors: dict[str, str] = {}

    def columns_of(relation: str) -> list[str] | None:
        try:
            return [r[0] for r in con.execute(f"describe {relation}").fetchall()]
        except Exception as exc:  # noqa: BLE001 - report, do not stop at the first broken item
            return str(exc).splitlines()[0]

    for dash in dashboards:
        virtual = dash.get("datasets") or {}
        for chart in dash["charts"]:
            name = chart["dataset"]
            sql = virtual[name]["sql"] if name in virtual else None
            marts = set(re.findall(r"\bmarts\.(\w+)", sql)) if sql else {name}
            if only_marts is not None and not marts <= only_marts | {"publish_log"}:
                continue
            relation = f"({sql})" if sql else ("main.publish_log" if name == "publish_log" else f"marts.{name}")
            cols = columns_of(relation)
            key = f"{dash['key']}/{chart['key']}"
            if isinstance(cols, str):
                errors[key] = cols
                continue
            missing = chart_columns(chart) - set(cols)
            if missing:
                errors[key] = f"unknown columns {sorted(missing)}"
                continue
            metrics = [m["sql"] for m in chart.get("metrics", [])] + (
                [chart["metric"]["sql"]] if "metric" in chart else []
            )
            for expression in metrics or ["count(*)"]:
                where = " and ".join(f"({w})" for w in chart.get("where", [])) or "true"
                try:
                    con.execute(f"select {expression} from {relation} as t where {where} limit 0").fetchall()
                except Exception as exc:  # noqa: BLE001
                    errors[key] = str(exc).splitlines()[0]
    return errors
