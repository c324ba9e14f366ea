"""The floor of the nightly `dbt build` on this machine: its SQL alone, and what dbt's Python adds (issue 21).

    .venv/bin/python -m bench.dbt_floor --work DIR [--runs 3]

DIR is a `bench.run_all --keep` work folder: its `home/` holds the warehouse as the timed nightly
left it, `accounts.yml` the registry. Nothing in DIR is changed; copies go to a temporary folder.

1. **The build, as the bench times it**: the warehouse is copied and the nightly's loads re-stamped
   as committed now (`raw.loads`), so the next build re-derives exactly the keys, days and posts the
   timed nightly did; then `bench.phases dbt` (a preloaded, parsed worker running
   `ingestion.transform.runner.build`) in its own process. Figures: its wall and the CPU seconds of
   its work (dbt's threads and DuckDB's, imports excluded). `--runs` times, alternating with 3.
2. **The SQL it sent**: one more such build with dbt's file log at debug level, whose log holds
   every statement (`On <node>: <sql>`).
3. **The SQL alone**: those statements replayed on another re-stamped copy, node by node in the
   order dbt started them (a valid order: dbt starts a node after its parents finished), on one
   DuckDB connection with the profile's DuckDB threads. Figures: wall and CPU seconds, the
   statements by kind.

What the figures say: the build cannot take less wall time than its CPU seconds divided by the
machine's cores, whatever the schedule (threads, ordering); of those CPU seconds, the replay's are
the SQL's (what DuckDB must do for this project's models on this data) and the rest is dbt's
Python (compiling, materialisation macros, events, result handling). A target below the floor
needs less SQL or fewer nodes, not tuning. Writes bench/results/dbt_floor.json; never pass/fail.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import duckdb

from bench import harness as H
from bench.common import figure, parse_options, write_results

STATEMENT = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \[debug\] \[[^\]]+\]: On ([^:]+): (.*)$")
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \[")
COMMENT = re.compile(r"^/\*.*?\*/\s*", re.S)
TRANSACTION = {"BEGIN": "begin", "COMMIT": "commit", "ROLLBACK": "rollback"}


def restamped_copy(work: Path, into: Path) -> Path:
    """A home folder with a copy of `work`'s warehouse whose nightly loads count as just committed."""
    home = into / "home"
    shutil.rmtree(into, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy2(work / "home" / "warehouse.duckdb", home / "warehouse.duckdb")
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        con.execute("update raw.loads set committed_at = now() where load_id like 'nightly/%'")
    finally:
        con.close()
    return home


def build(work: Path, scratch: Path, log_level: str) -> dict[str, Any]:
    """`bench.phases dbt` on a re-stamped copy (bench.harness.run_phase); its result plus the home folder."""
    home = restamped_copy(work, scratch)
    env = {**os.environ, "SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(work / "accounts.yml"),
           "SOCIALPULSE_DBT_LOG_LEVEL": log_level}
    return {**H.run_phase("dbt", env, scratch, "nightly", H.AS_OF), "home": home}


def statements(log: Path) -> dict[str, list[str]]:
    """Every statement of a debug dbt.log, per node, nodes in the order they sent their first one."""
    per_node: dict[str, list[str]] = {}
    lines = log.read_text(encoding="utf-8", errors="replace").split("\n")
    i = 0
    while i < len(lines):
        match = STATEMENT.match(lines[i])
        i += 1
        if not match:
            continue
        body = [match.group(2)]
        while i < len(lines) and not LOG_LINE.match(lines[i]):
            body.append(lines[i])
            i += 1
        per_node.setdefault(match.group(1), []).append("\n".join(body).strip())
    return per_node


def kind(sql: str) -> str:
    """A statement's kind for the table: its first two words (a test's select is `data test`)."""
    text = COMMENT.sub("", sql).strip()
    if text in TRANSACTION:
        return text.lower()
    words = text.split()
    if "as failures" in text:
        return "data test"
    return " ".join(words[:2]).lower() if words else "empty"


def replay(per_node: dict[str, list[str]], home: Path, threads: int) -> dict[str, Any]:
    """Run the statements on `home`'s warehouse, node after node on one connection: wall, CPU, by kind."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute(f"set threads = {threads}")
    by_kind: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    slowest: list[tuple[float, str]] = []
    errors = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        for node, sqls in per_node.items():
            node_started = time.perf_counter()
            for sql in sqls:
                text = TRANSACTION.get(sql, sql).replace('"warehouse".', "")
                if text == "Close":
                    continue
                started = time.perf_counter()
                try:
                    con.execute(text)
                except duckdb.Error as exc:  # a commit/rollback without its begin: dbt's bookkeeping
                    if "transaction" not in str(exc).lower():
                        errors += 1
                        print(f"dbt_floor: {node}: {str(exc).splitlines()[0][:160]}", file=sys.stderr)
                entry = by_kind[kind(sql)]
                entry[0] += 1
                entry[1] += time.perf_counter() - started
            slowest.append((time.perf_counter() - node_started, node))
        con.execute("checkpoint")  # what the build's last close does
    finally:
        con.close()
    return {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0, "errors": errors,
            "statements": sum(int(n) for n, _ in by_kind.values()),
            "by_kind": {k: {"statements": int(n), "s": round(s, 3)}
                        for k, (n, s) in sorted(by_kind.items(), key=lambda kv: -kv[1][1])},
            "slowest_nodes": [{"node": n.split(".", 2)[-1], "s": round(s, 3)}
                              for s, n in sorted(slowest, reverse=True)[:8]]}


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__, argv, work="", runs=3, duckdb_threads=2)
    work = Path(options.work)
    if not (work / "home" / "warehouse.duckdb").is_file() or not (work / "accounts.yml").is_file():
        print(f"dbt_floor: {work} is not a kept bench work folder (home/warehouse.duckdb, accounts.yml): "
              "run `python -m bench.run_all --only standard --keep` and pass the folder it prints", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="socialpulse-dbt-floor-") as tmp:
        scratch = Path(tmp)
        runs = []
        for n in range(options.runs):
            runs.append(build(work, scratch / "build", "info"))
            print(f"dbt_floor: build {n + 1}/{options.runs}: wall {runs[-1]['wall_s']:.2f} s, "
                  f"CPU {runs[-1]['work_cpu_s']:.2f} s", file=sys.stderr)
        logged = build(work, scratch / "logged", "debug")
        per_node = statements(logged["home"] / "dbt_logs" / "dbt.log")
        sql = replay(per_node, restamped_copy(work, scratch / "replay"), options.duckdb_threads)
    wall = median(r["wall_s"] for r in runs)
    cpu = median(r["work_cpu_s"] for r in runs)
    figures = [
        figure("dbt build wall (median)", wall, "s", runs=[r["wall_s"] for r in runs], nodes=runs[0]["nodes"]),
        figure("dbt build CPU (median)", cpu, "CPU-s", runs=[r["work_cpu_s"] for r in runs]),
        figure("SQL alone, replayed: wall", sql["wall_s"], "s", statements=sql["statements"], errors=sql["errors"]),
        figure("SQL alone, replayed: CPU", sql["cpu_s"], "CPU-s"),
        figure("dbt's Python (build CPU - SQL CPU)", cpu - sql["cpu_s"], "CPU-s"),
        figure(f"CPU floor of the build on {cores} cores (build CPU / cores)", cpu / cores, "s"),
        figure(f"SQL floor on {cores} cores (SQL CPU / cores)", sql["cpu_s"] / cores, "s"),
    ]
    write_results("dbt_floor", figures, {"work": str(work), "runs": options.runs, "cores": cores,
                                         "duckdb_threads": options.duckdb_threads, "by_kind": sql["by_kind"],
                                         "slowest_replayed_nodes": sql["slowest_nodes"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
