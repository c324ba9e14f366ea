"""Shared benchmark plumbing: JSON results with machine info and git commit, peak RSS, a table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def parse_options(doc: str, argv: list[str] | None = None, **defaults: Any) -> argparse.Namespace:
    """A benchmark script's command line, from its options' defaults (first docstring line as description).

    `latency_ms=50.0` becomes `--latency-ms` (a float, default 50.0), `seed=42` an int option, and
    `skip_backfill=False` a flag. Why: the scripts spelled out the same parser option by option; an
    option that needs help text or choices keeps its own `argparse` code.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            if default:
                raise ValueError(f"{flag}: a flag is off unless given, so its default is False")
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except OSError:
        pass
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gib": round(mem_kb / 1024 / 1024, 1)}


def git_commit() -> str:
    """The commit measured (with a '+dirty' mark when the tree has changes)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def write_results(name: str, figures: list[dict[str, Any]], parameters: dict[str, Any]) -> Path:
    """Write `bench/results/<name>.json` and print it plus a short table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "measured_at": datetime.now(UTC).isoformat(), "git_commit": git_commit(),
           "machine": machine(), "parameters": parameters, "figures": figures}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    print(json.dumps(doc, default=str))
    width = max(len(f["figure"]) for f in figures)
    for f in figures:
        print(f"  {f['figure']:<{width}}  {f['value']:>12} {f['unit']}")
    return path


def figure(name: str, value: float | int, unit: str, **extra: Any) -> dict[str, Any]:
    """One figure row."""
    return {"figure": name, "value": round(value, 3) if isinstance(value, float) else value, "unit": unit, **extra}
