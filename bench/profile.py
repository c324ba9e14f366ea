"""Profile one pipeline phase the way the bench runs it: CPU, not wall (issue 21).

    .venv/bin/python -m bench.profile PHASE --work DIR --run-id ID --as-of D [--top 25] [--dbt-only]

Runs `bench.phases PHASE` (same arguments, same SOCIALPULSE_* environment, e.g. the `home/` of a
`bench.run_all --keep` work folder) under cProfile in this process and prints the top functions by
cumulative and by own time, with the process's CPU seconds (user + system) split into imports and
the phase's work. On a shared machine wall seconds are noise; CPU seconds and the profile's shares
are what to compare between two versions of the code.

For `dbt` the work happens in dbt's worker threads, invisible to cProfile (it sees the main thread
waiting on them): `--dbt-only` instead
reads the phase's `run_results.json` and dbt's log and prints dbt's own split (start-up and parse,
per-model and per-test execution seconds summed over threads, the slowest nodes).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import resource
import sys
import time
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def dbt_split(home: Path, top: int = 12) -> dict:
    """dbt's own split of its last invocation under `home` (dbt_target/run_results.json, dbt_logs/dbt.log)."""
    results = json.loads((home / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    nodes = results["results"]

    def total(prefix: str) -> float:
        return round(sum(n.get("execution_time") or 0.0 for n in nodes if n["unique_id"].startswith(prefix)), 2)

    out = {
        "elapsed_s": round(results["elapsed_time"], 2),
        "nodes": len(nodes), "models": sum(n["unique_id"].startswith("model.") for n in nodes),
        "tests": sum(n["unique_id"].startswith("test.") for n in nodes),
        "model_exec_s": total("model."), "test_exec_s": total("test."),
        "nodes_under_0_3_s": sum((n.get("execution_time") or 0.0) < 0.3 for n in nodes),
        "slowest": [(n["unique_id"].split(".", 2)[-1], round(n.get("execution_time") or 0.0, 2))
                    for n in sorted(nodes, key=lambda n: -(n.get("execution_time") or 0.0))[:top]],
    }
    log = home / "dbt_logs" / "dbt.log"
    if log.exists():
        text = log.read_text(encoding="utf-8", errors="replace")
        last = text[text.rfind("Running with dbt="):]
        out["partial_parse"] = ("Unable to do partial parsing" not in last) and ("partial" in last.lower())
        stamps = re.findall(r"(\d\d:\d\d:\d\d\.\d+)", last)
        if stamps:
            out["log_first_last"] = [stamps[0], stamps[-1]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dbt-only", action="store_true", help="print dbt's split of the last dbt run")
    args, rest = parser.parse_known_args(argv)
    if args.dbt_only:
        print(json.dumps(dbt_split(Path(os.environ["SOCIALPULSE_HOME"]), args.top), indent=1))
        return 0
    cpu0, t0 = _cpu(), time.perf_counter()
    from bench import phases

    profile = cProfile.Profile()
    profile.enable()
    code = phases.main([args.phase, *rest])
    profile.disable()
    print(f"PROFILE {args.phase}: process CPU {_cpu():.2f} s (bench.phases import {cpu0:.2f} s before), "
          f"wall {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    for key in ("cumulative", "tottime"):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats(key).print_stats(args.top)
        print(buffer.getvalue(), file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
