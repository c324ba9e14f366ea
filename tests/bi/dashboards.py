"""bi/provision.py loaded as a module (bi/ is not a package: the file runs inside the Metabase image),
and a helper that binds every dashboard card against a DuckDB connection."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("bi_provision", REPO / "bi" / "provision.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bi_provision"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


provision = sys.modules.get("bi_provision") or _load()


def bind_cards(con, only_marts: set[str] | None = None) -> dict[str, str]:
    """{dashboard/card: error} for every card that does not bind (cards on marts outside `only_marts` skipped)."""
    errors = {}
    for dash in provision.load_dashboards():
        for card in dash.cards:
            if only_marts is not None and not card.marts <= only_marts:
                continue
            try:
                con.execute(f"select * from ({card.sql}) limit 0").fetchall()
            except Exception as exc:
                errors[f"{dash.key}/{card.key}"] = str(exc).splitlines()[0]
    return errors
