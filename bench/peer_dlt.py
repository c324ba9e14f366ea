"""The peer: the nightly fetch done with dlt's REST API source into DuckDB (runs in bench/.venv-dlt).

    bench/.venv-dlt/bin/python bench/peer_dlt.py SPEC.json OUT_DIR RUN_NAME

SPEC.json is written by bench.peer from the very same nightly plan our engine fetches: one parent
resource per kind of call (its items carry the account id and the parameters that vary per
account or day) and one `rest_api` resource per kind of call that resolves them, plus the two
follow-up resources (post insights from the listed posts, media insights from the listed media).
So both clients ask the same sandbox endpoints with the same parameters.

Configured for throughput as dlt's docs recommend:
* `rest_api_source(..., parallelized=True)` and `parallelized: True` on every dependent resource
  (each parent item's request runs as a deferred call in dlt's extract thread pool);
* `EXTRACT__WORKERS` = our fetch concurrency (8), `NORMALIZE__WORKERS` = 2 (the cores here),
  load workers left at dlt's default (20);
* pages are yielded as lists (the REST client does that), buffers/file sizes at defaults;
* `write_disposition="merge"` with primary keys, so a nightly that re-reads days updates them.
Only the standard library and dlt are imported here (this venv does not have socialpulse).

Prints one JSON line: wall time per dlt stage (extract, normalize, load), HTTP requests sent
(counted at the transport adapter, retries included), rows per table, peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any


def main() -> int:
    spec_path, out_dir, run_name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(out_dir)  # dlt looks for .dlt/ config in the working directory
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("EXTRACT__WORKERS", str(spec["concurrency"]))
    os.environ.setdefault("NORMALIZE__WORKERS", "2")

    t_import = time.perf_counter()
    import dlt
    import requests.adapters
    from dlt.sources.rest_api import rest_api_source

    import_s = time.perf_counter() - t_import

    calls = {"n": 0}
    lock = threading.Lock()
    original_send = requests.adapters.HTTPAdapter.send

    def counting_send(self, request, *args, **kwargs):
        with lock:
            calls["n"] += 1
        return original_send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = counting_send  # type: ignore[method-assign]

    resources: list[Any] = []
    for parent in spec["parents"]:
        # Dependent rest_api resources expect pages (lists) from their parent, as an API would yield.
        pages = [parent["items"][i : i + 100] for i in range(0, len(parent["items"]), 100)]
        resources.append(dlt.resource(pages, name=parent["name"], selected=False))
    for child in spec["children"]:
        resources.append(_child_config(child, spec["cutoff"]))
    config = {
        "client": {"base_url": spec["base_url"], "auth": {"type": "bearer", "token": spec["token"]}},
        "resource_defaults": {"write_disposition": "merge", "parallelized": True,
                              "endpoint": {"paginator": "single_page"}},
        "resources": resources,
    }
    source = rest_api_source(config, name="sandbox", parallelized=True)
    pipeline = dlt.pipeline(pipeline_name=f"peer_{run_name}", destination=dlt.destinations.duckdb(spec["duckdb"]),
                            dataset_name="sandbox_raw", pipelines_dir=str(out_dir / "pipelines"))
    stages: dict[str, float] = {}
    t = time.perf_counter()
    pipeline.extract(source)
    stages["extract_s"] = time.perf_counter() - t
    t = time.perf_counter()
    normalize_info = pipeline.normalize()
    stages["normalize_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.load()
    stages["load_s"] = time.perf_counter() - t
    rows: dict[str, int] = {}
    for counts in (normalize_info.row_counts or {}).items():
        rows[counts[0]] = counts[1]
    print("PEER-RESULT " + json.dumps({
        **{k: round(v, 3) for k, v in stages.items()},
        "wall_s": round(sum(stages.values()), 3), "import_s": round(import_s, 3),
        "http_requests": calls["n"], "rows_by_table": rows,
        "rows": sum(v for k, v in rows.items() if not k.startswith("_dlt")),
        "peak_rss_mib": _vmhwm_mib(),
        "cpu_s": round(sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                           for f in ("ru_utime", "ru_stime")), 2),
        "children_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "duckdb_bytes": Path(spec["duckdb"]).stat().st_size,
        "dlt_version": dlt.__version__,
    }), flush=True)
    return 0


def _vmhwm_mib() -> float:
    """Peak RSS of this process (VmHWM: ru_maxrss can carry the parent's peak across exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _child_config(child: dict[str, Any], cutoff: str) -> dict[str, Any]:
    """One rest_api resource from the spec (see bench.peer.build_spec)."""
    endpoint: dict[str, Any] = {"path": child["path"], "params": child["params"],
                                "data_selector": child["data_selector"]}
    if child.get("paginator"):
        endpoint["paginator"] = child["paginator"]
    if child.get("tolerate_400"):
        # Graph answers (#10)/(#100) for objects without data: not a failure (our tolerated codes).
        endpoint["response_actions"] = [{"status_code": 400, "action": "ignore"}]
    out: dict[str, Any] = {"name": child["name"], "endpoint": endpoint, "primary_key": child["primary_key"]}
    if child.get("include_from_parent"):
        out["include_from_parent"] = child["include_from_parent"]
    kind = child.get("kind")
    if kind == "youtube_report":
        out["processing_steps"] = [{"yield_map": _report_rows}]
    elif kind == "recent_media":
        # Media insights are wanted for media younger than the refresh window only (as ours).
        out["processing_steps"] = [{"filter": lambda m: str(m.get("timestamp", ""))[:10] >= cutoff}]
    return out


def _report_rows(body: dict[str, Any]):
    """YouTube Analytics answers columnHeaders + rows (lists): one dict per row."""
    names = [h.get("name") for h in body.get("columnHeaders", [])]
    channel = None
    for key, value in body.items():
        if key.endswith("_id") and key.startswith("_"):
            channel = value
    for row in body.get("rows") or []:
        yield {"channel": channel, **dict(zip(names, row, strict=False))}


if __name__ == "__main__":
    raise SystemExit(main())
