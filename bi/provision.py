#!/usr/bin/env python3
"""Provision Metabase from code: the read-only DuckDB connection to the published marts, and the
dashboards in bi/dashboards/*.json, through Metabase's REST API. Standard library only (it runs
inside the Metabase image).

    provision.py apply [--wait]   first-run setup (admin user), database, collection, cards, dashboards
    provision.py refresh          make Metabase pick up a new publish (reconnect + schema re-sync)
    provision.py watch            refresh whenever a new publish appears (poll; runs in the container)
    provision.py plan             print what `apply` would create, without a server

Idempotent: objects are found by name and updated in place, so `apply` can run on every start.
Environment: MB_URL (http://localhost:3000), MB_ADMIN_EMAIL, MB_ADMIN_PASSWORD (default: generated
once into MB_STATE_DIR/socialpulse-admin-password), SOCIALPULSE_BI_DIR
(/data/bi), SOCIALPULSE_BI_SOURCE (duckdb | parquet), SOCIALPULSE_BI_POLL_S (30).

How a new publish is picked up (docs/bi.md): the publisher replaces bi/socialpulse.duckdb with an
atomic rename. Metabase's DuckDB driver keeps its pooled connections on the file it opened, so it
would keep answering from the old copy. `refresh` rewrites the connection's `init_sql` with the new
publish id; changed connection details make Metabase drop its connection pool, so the next query
opens the new file; then it asks for a schema sync so new tables and columns appear.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"
DATABASE_NAME = "socialpulse (publicerad / published)"
COLLECTION_NAME = "socialpulse"
GRID_WIDTH = 24  # Metabase dashboards are 24 columns wide
BI_FILE = "socialpulse.duckdb"
PARQUET_LINK = "parquet"


# ------------------------------------------------------------------------------------------------
# Pure parts (tested offline)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    key: str
    name: str
    description: str
    display: str
    sql: str
    width: int
    height: int
    visualization_settings: dict
    requires: tuple[str, ...] = ()

    @property
    def marts(self) -> set[str]:
        """The marts the card reads (from its SQL) plus any it declares."""
        return set(re.findall(r"\bmarts\.(\w+)", self.sql)) | set(self.requires)


@dataclass(frozen=True)
class Dashboard:
    key: str
    name: str
    description: str
    cards: tuple[Card, ...]


def load_dashboards(folder: Path = DASHBOARDS_DIR) -> list[Dashboard]:
    """Every dashboard definition, in file-name order."""
    out = []
    for path in sorted(folder.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        cards = tuple(
            Card(key=c["key"], name=c["name"], description=c.get("description", ""), display=c["display"],
                 sql=c["sql"], width=c["size"]["w"], height=c["size"]["h"],
                 visualization_settings=c.get("visualization_settings", {}), requires=tuple(c.get("requires", ())))
            for c in raw["cards"]
        )
        out.append(Dashboard(key=raw["key"], name=raw["name"], description=raw.get("description", ""), cards=cards))
    return out


def layout(cards: list[Card] | tuple[Card, ...]) -> list[tuple[Card, int, int]]:
    """(card, row, col): left to right, wrapping at the grid width; a row is as tall as its tallest card."""
    placed, row, col, row_height = [], 0, 0, 0
    for card in cards:
        width = min(card.width, GRID_WIDTH)
        if col + width > GRID_WIDTH:
            row, col, row_height = row + row_height, 0, 0
        placed.append((card, row, col))
        col += width
        row_height = max(row_height, card.height)
    return placed


def publish_tag(bi_dir: Path) -> str:
    """What identifies the current publish: the Parquet link's target (its publish id), else the file's inode."""
    link = bi_dir / PARQUET_LINK
    if link.is_symlink():
        return Path(os.readlink(link)).name
    path = bi_dir / BI_FILE
    if path.exists():
        st = path.stat()
        return f"{st.st_ino}-{st.st_mtime_ns}"
    return "none"


def published_marts(bi_dir: Path) -> list[str]:
    """Mart names of the current publish, from the Parquet folder (no DuckDB needed)."""
    folder = bi_dir / PARQUET_LINK
    if not folder.exists():
        return []
    return sorted(p.stem for p in folder.glob("*.parquet") if p.stem != "publish_log")


def database_details(source: str, bi_dir: Path, tag: str) -> dict[str, Any]:
    """Connection details of the DuckDB database in Metabase; never the working warehouse.

    duckdb:  the published file, read-only (the driver's DuckDB 1.5 reads its v1.5.0 storage).
    parquet: an in-memory DuckDB whose init SQL defines views over the published Parquet files:
             every query reads the current files, with no file kept open between queries.
    The init SQL carries the publish id: a new value is what makes Metabase reconnect.
    """
    marker = f"-- socialpulse publish {tag}"
    if source == "duckdb":
        return {"database_file": str(bi_dir / BI_FILE), "read_only": True, "old_implicit_casting": True,
                "init_sql": f"SET preserve_insertion_order = true; {marker}"}
    if source == "parquet":
        folder = bi_dir / PARQUET_LINK
        views = ["CREATE SCHEMA IF NOT EXISTS marts;"]
        views += [f"CREATE OR REPLACE VIEW marts.{m} AS SELECT * FROM read_parquet('{folder / (m + '.parquet')}');"
                  for m in published_marts(bi_dir)]
        views.append(f"CREATE OR REPLACE VIEW main.publish_log AS SELECT * FROM "
                     f"read_parquet('{folder / 'publish_log.parquet'}');")
        return {"database_file": ":memory:", "read_only": False, "old_implicit_casting": True,
                "init_sql": "\n".join([*views, marker])}
    raise ValueError(f"unknown source {source!r} (duckdb | parquet)")


def card_payload(card: Card, database_id: int, collection_id: int) -> dict[str, Any]:
    return {
        "name": card.name,
        "description": card.description or None,
        "display": card.display,
        "visualization_settings": card.visualization_settings,
        "collection_id": collection_id,
        "dataset_query": {"type": "native", "database": database_id,
                          "native": {"query": card.sql, "template-tags": {}}},
    }


def dashcards_payload(placed: list[tuple[Card, int, int]], card_ids: dict[str, int]) -> list[dict[str, Any]]:
    """New dashcards get negative ids (Metabase's convention for 'create')."""
    return [
        {"id": -(i + 1), "card_id": card_ids[card.key], "row": row, "col": col, "size_x": card.width,
         "size_y": card.height, "parameter_mappings": [], "visualization_settings": {}}
        for i, (card, row, col) in enumerate(placed) if card.key in card_ids
    ]


# ------------------------------------------------------------------------------------------------
# REST client
# ------------------------------------------------------------------------------------------------


class Metabase:
    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.session: str | None = None
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.session:
            request.add_header("X-Metabase-Session", self.session)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode() or "null"
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()[:500]}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def wait_healthy(self, timeout_s: float = 600) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if (self.call("GET", "/api/health") or {}).get("status") == "ok":
                    return
            except (OSError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Metabase at {self.url} not healthy after {timeout_s:.0f}s")
            time.sleep(3)

    def login(self, email: str, password: str) -> None:
        props = self.call("GET", "/api/session/properties")
        if not props.get("has-user-setup") and props.get("setup-token"):
            self.call("POST", "/api/setup", {
                "token": props["setup-token"],
                "user": {"email": email, "password": password, "first_name": "socialpulse", "last_name": "admin",
                         "site_name": "socialpulse"},
                "prefs": {"site_name": "socialpulse", "site_locale": "sv", "allow_tracking": False},
            })
        self.session = self.call("POST", "/api/session", {"username": email, "password": password})["id"]

    @staticmethod
    def _items(result: Any) -> list[dict]:
        return result.get("data", []) if isinstance(result, dict) else (result or [])

    def database_id(self) -> int | None:
        for db in self._items(self.call("GET", "/api/database")):
            if db.get("name") == DATABASE_NAME:
                return db["id"]
        return None

    def table_names(self, database_id: int) -> set[str]:
        meta = self.call("GET", f"/api/database/{database_id}/metadata?include_hidden=true")
        return {t["name"] for t in meta.get("tables", [])}


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def admin_password(state_dir: Path) -> str:
    """MB_ADMIN_PASSWORD, else a random password generated on first start and kept (mode 600) in
    Metabase's state folder: no secret lives in docker-compose.yml or the image.
    Read it with `docker compose exec metabase cat /metabase-data/socialpulse-admin-password`."""
    if password := os.environ.get("MB_ADMIN_PASSWORD"):
        return password
    path = state_dir / "socialpulse-admin-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _config() -> dict[str, Any]:
    return {
        "url": _env("MB_URL", "http://localhost:3000"),
        "email": _env("MB_ADMIN_EMAIL", "admin@socialpulse.local"),
        "password": admin_password(Path(_env("MB_STATE_DIR", "/metabase-data"))),
        "bi_dir": Path(_env("SOCIALPULSE_BI_DIR", "/data/bi")),
        "source": _env("SOCIALPULSE_BI_SOURCE", "duckdb"),
        "poll_s": float(_env("SOCIALPULSE_BI_POLL_S", "30")),
    }


def wait_for_publish(bi_dir: Path, timeout_s: float = 24 * 3600) -> None:
    """Metabase validates a connection when it is created: wait for the first publish."""
    deadline = time.monotonic() + timeout_s
    while not (bi_dir / BI_FILE).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no published copy in {bi_dir}")
        time.sleep(10)


def ensure_database(mb: Metabase, cfg: dict[str, Any]) -> int:
    details = database_details(cfg["source"], cfg["bi_dir"], publish_tag(cfg["bi_dir"]))
    db_id = mb.database_id()
    if db_id is None:
        db_id = mb.call("POST", "/api/database", {"engine": "duckdb", "name": DATABASE_NAME, "details": details,
                                                  "is_full_sync": True, "auto_run_queries": True})["id"]
    else:
        mb.call("PUT", f"/api/database/{db_id}", {"details": details})
    mb.call("POST", f"/api/database/{db_id}/sync_schema")
    return db_id


def ensure_collection(mb: Metabase) -> int:
    for coll in mb._items(mb.call("GET", "/api/collection")):
        if coll.get("name") == COLLECTION_NAME and not coll.get("archived"):
            return coll["id"]
    return mb.call("POST", "/api/collection", {"name": COLLECTION_NAME, "color": "#0072B2",
                                               "description": "Dashboards as code (bi/dashboards)"})["id"]


def apply(mb: Metabase, cfg: dict[str, Any], dashboards: list[Dashboard]) -> dict[str, Any]:
    """Create or update everything; cards whose mart is not published yet are skipped (reported)."""
    db_id = ensure_database(mb, cfg)
    coll_id = ensure_collection(mb)
    published = set(published_marts(cfg["bi_dir"])) or mb.table_names(db_id)
    existing_cards = {c["name"]: c["id"] for c in mb._items(mb.call("GET", "/api/card?f=all"))
                      if c.get("collection_id") == coll_id and not c.get("archived")}
    existing_dash = {d["name"]: d["id"] for d in mb._items(mb.call("GET", "/api/dashboard"))
                     if d.get("collection_id") == coll_id and not d.get("archived")}
    summary: dict[str, Any] = {"database_id": db_id, "collection_id": coll_id, "dashboards": {}, "skipped": []}
    for dash in dashboards:
        card_ids: dict[str, int] = {}
        for card in dash.cards:
            if card.marts - published:
                summary["skipped"].append(f"{dash.key}/{card.key}")
                continue
            payload = card_payload(card, db_id, coll_id)
            if card.name in existing_cards:
                card_ids[card.key] = mb.call("PUT", f"/api/card/{existing_cards[card.name]}", payload)["id"]
            else:
                card_ids[card.key] = mb.call("POST", "/api/card", payload)["id"]
        dash_id = existing_dash.get(dash.name)
        if dash_id is None:
            dash_id = mb.call("POST", "/api/dashboard", {"name": dash.name, "description": dash.description,
                                                         "collection_id": coll_id})["id"]
        placed = layout([c for c in dash.cards if c.key in card_ids])
        mb.call("PUT", f"/api/dashboard/{dash_id}", {"description": dash.description,
                                                      "dashcards": dashcards_payload(placed, card_ids)})
        summary["dashboards"][dash.key] = {"id": dash_id, "cards": len(card_ids)}
    return summary


def refresh(mb: Metabase, cfg: dict[str, Any]) -> str:
    """New init_sql (new publish id) -> Metabase drops its pool and reconnects; then re-sync the schema."""
    tag = publish_tag(cfg["bi_dir"])
    db_id = mb.database_id()
    if db_id is None:
        raise RuntimeError("the socialpulse database is not provisioned yet: run `provision.py apply`")
    mb.call("PUT", f"/api/database/{db_id}", {"details": database_details(cfg["source"], cfg["bi_dir"], tag)})
    mb.call("POST", f"/api/database/{db_id}/sync_schema")
    return tag


def watch(mb: Metabase, cfg: dict[str, Any], max_polls: int | None = None) -> None:
    seen, polls = publish_tag(cfg["bi_dir"]), 0
    while max_polls is None or polls < max_polls:
        time.sleep(cfg["poll_s"])
        polls += 1
        tag = publish_tag(cfg["bi_dir"])
        if tag != seen:
            try:
                refresh(mb, cfg)
                print(f"provision: picked up publish {tag}", flush=True)
                seen = tag
            except (OSError, RuntimeError) as exc:  # Metabase restarting: try again next poll
                print(f"provision: refresh failed, will retry: {exc}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["apply", "refresh", "watch", "plan"])
    parser.add_argument("--wait", action="store_true", help="wait for Metabase and for the first publish")
    args = parser.parse_args(argv)
    dashboards = load_dashboards()
    if args.command == "plan":
        cfg = {"source": _env("SOCIALPULSE_BI_SOURCE", "duckdb"),
               "bi_dir": Path(_env("SOCIALPULSE_BI_DIR", "/data/bi"))}
        print(json.dumps({
            "database": {"name": DATABASE_NAME, "engine": "duckdb",
                         "details": database_details(cfg["source"], cfg["bi_dir"], publish_tag(cfg["bi_dir"]))},
            "dashboards": {d.key: [{"card": c.key, "row": r, "col": col, "marts": sorted(c.marts)}
                                   for c, r, col in layout(d.cards)] for d in dashboards},
        }, indent=2))
        return 0
    cfg = _config()
    mb = Metabase(cfg["url"])
    if args.wait:
        mb.wait_healthy()
        wait_for_publish(cfg["bi_dir"])
    mb.login(cfg["email"], cfg["password"])
    if args.command == "apply":
        print(json.dumps(apply(mb, cfg, dashboards)))
    elif args.command == "refresh":
        print(f"refreshed: publish {refresh(mb, cfg)}")
    else:
        watch(mb, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
