"""The peer benchmark's main-venv half: the bench-only dlt venv, the request spec, the runs.

`build_spec` turns the nightly plan into the calls our engine makes in its first round (from the
platform modules' own `requests_for`, so both clients ask for exactly the same thing) and into the
two follow-up kinds (post and media insights). `run_peer` runs bench/peer_dlt.py in
`bench/.venv-dlt` (created on first use with `pip install dlt[duckdb]==1.31.0`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.harness import REPO, TOKEN, loadavg, log, run_reporting

DLT_REQUIREMENT = "dlt[duckdb]==1.31.0"
VENV = REPO / "bench" / ".venv-dlt"
VENV_PYTHON = VENV / "bin" / "python"
BASES = {"graph": "graph/{version}/", "youtube_data": "youtube/v3/", "youtube_analytics": "youtubeanalytics/v2/"}


def ensure_venv() -> dict[str, Any]:
    """Create bench/.venv-dlt with the pinned dlt, unless it already has it. Returns timing info."""
    started = time.perf_counter()
    check = [str(VENV_PYTHON), "-c", "import dlt, duckdb; print(dlt.__version__)"]
    if VENV_PYTHON.exists():
        out = subprocess.run(check, capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() == DLT_REQUIREMENT.split("==")[1]:
            return {"created": False, "seconds": round(time.perf_counter() - started, 1)}
    log(f"creating {VENV.relative_to(REPO)} ({DLT_REQUIREMENT})")
    subprocess.run([_base_python(), "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    DLT_REQUIREMENT], check=True)
    out = subprocess.run(check, capture_output=True, text=True, check=True)
    return {"created": True, "seconds": round(time.perf_counter() - started, 1), "version": out.stdout.strip()}


def _base_python() -> str:
    """The interpreter .venv was made from (the dlt venv must not see .venv's packages)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _classify(spec) -> str:
    p, e, params = spec.platform, spec.endpoint, spec.params
    short = {"facebook": "fb", "instagram": "ig", "youtube": "yt"}[p]
    if p == "instagram" and e == "insights":
        if params.get("metric_type") == "time_series":
            return "ig_reach"
        return "ig_follows" if params.get("breakdown") == "follow_type" else "ig_totals"
    return f"{short}_{e}"


def build_spec(plans_file: Path, as_of: date, base_url: str, duckdb_path: Path, concurrency: int,
               content_refresh_days: int = 30) -> dict[str, Any]:
    """The dlt source definition (JSON) for the same first-round calls and follow-ups as ours."""
    from ingestion.core.settings import DEFAULT_GRAPH_API_VERSION
    from ingestion.extract.plan import AccountPlan
    from ingestion.sources import FetchContext
    from ingestion.sources.by_platform import PLATFORM_MODULES

    plans = [AccountPlan.from_dict(d) for d in json.loads(plans_file.read_text(encoding="utf-8"))]
    ctx = FetchContext(as_of=as_of, content_refresh_days=content_refresh_days)
    classes: dict[str, list] = {}
    for plan in plans:
        for spec in PLATFORM_MODULES[plan.platform].requests_for(plan, ctx):
            classes.setdefault(_classify(spec), []).append(spec)
    parents, children = [], []
    for name, specs in sorted(classes.items()):
        parent = f"{name}_requests"
        keys = sorted({k for s in specs for k in s.params})
        varying = [k for k in keys if len({json.dumps(s.params.get(k)) for s in specs}) > 1]
        base = BASES[specs[0].base].format(version=DEFAULT_GRAPH_API_VERSION)
        path = base + specs[0].path.replace(specs[0].account_id, f"{{resources.{parent}.id}}")
        params = {k: (f"{{resources.{parent}.{k}}}" if k in varying else specs[0].params[k]) for k in keys}
        items = [{"id": s.account_id, **{k: s.params[k] for k in varying}} for s in specs]
        parents.append({"name": parent, "items": items})
        extra = [k for k in varying if k not in ("id", "ids")]
        child: dict[str, Any] = {"name": name, "path": path, "params": params,
                                 "include_from_parent": ["id", *extra], "tolerate_400": bool(specs[0].tolerated_codes)}
        if specs[0].endpoint == "node" and specs[0].platform != "youtube":
            child.update(data_selector="$", primary_key=["id"])
        elif specs[0].platform == "youtube" and specs[0].endpoint == "node":
            child.update(data_selector="items", primary_key=["id"])
        elif specs[0].platform == "youtube":
            child.update(data_selector="$", kind="youtube_report",
                         primary_key=["channel", "day"] if specs[0].endpoint == "analytics"
                         else ["channel", "age_group", "gender"])
        elif specs[0].endpoint in ("posts", "media"):
            child.update(data_selector="data", primary_key=["id"])
            if specs[0].endpoint == "posts":  # Graph cursor paging: follow paging.next (as ours)
                child["paginator"] = {"type": "json_link", "next_url_path": "paging.next"}
            else:  # ours stops at the first media older than the refresh window: one page of 100 here
                child["kind"] = "recent_media"
        else:  # insights: one row per metric (id = object/insights/metric/period), values nested
            child.update(data_selector="data", primary_key=["id", *[f"_{parent}_{k}" for k in extra]])
        children.append(child)
    # Follow-ups: the insights of every listed post / recent media, as our engine's second round.
    follow = {"fb_post_insights": ("fb_posts", "facebook", {"id": "1_1"}),
              "ig_media_insights": ("ig_media", "instagram", {"id": "1", "timestamp": f"{as_of}T00:00:00+0000",
                                                              "media_product_type": "FEED"})}
    for name, (parent, platform, fake) in follow.items():
        if parent not in classes:
            continue
        module = PLATFORM_MODULES[platform]
        sample = module.follow_ups(classes[parent][0], {"data": [fake]}, ctx)[0]
        children.append({"name": name, "path": BASES["graph"].format(version=DEFAULT_GRAPH_API_VERSION)
                         + f"{{resources.{parent}.id}}/insights", "params": sample.params, "data_selector": "data",
                         "primary_key": ["id"], "tolerate_400": True, "include_from_parent": ["id"]})
    cutoff = (as_of - timedelta(days=content_refresh_days)).isoformat()
    return {"base_url": base_url.rstrip("/") + "/", "token": TOKEN, "duckdb": str(duckdb_path),
            "concurrency": concurrency, "cutoff": cutoff, "parents": parents, "children": children,
            "first_round_calls": sum(len(v) for v in classes.values())}


def run_peer(spec: dict[str, Any], work: Path, run_name: str) -> dict[str, Any]:
    """One dlt run of the spec; returns its JSON result plus load averages and process wall."""
    spec_path = work / f"peer-spec-{run_name}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    before = loadavg()
    result, elapsed = run_reporting([str(VENV_PYTHON), str(REPO / "bench" / "peer_dlt.py"), str(spec_path),
                                     str(work / "dlt"), run_name], work / f"peer-{run_name}.log", "PEER-RESULT",
                                    "dlt peer run", tail_lines=40)
    result.update(process_s=round(elapsed, 3), load_avg_before=before, load_avg_after=loadavg())
    log(f"dlt {run_name}: {result['wall_s']:.1f} s, {result['http_requests']} HTTP requests, {result['rows']} rows")
    return result
