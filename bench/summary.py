"""The summary table of the latest bench/results/*.json: printed, and written to results/summary.md.

    .venv/bin/python -m bench.summary
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS

ORDER = ("nightly", "backfill", "peer", "limits", "pacing", "scale")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _notes(f: dict[str, Any]) -> str:
    parts = []
    if "ratio_ours_over_limit" in f:
        parts.append(f"ours {_fmt(f['ours_s'])} s = **{f['ratio_ours_over_limit']}x** the limit")
    for key in ("peak_rss_mib", "children_peak_rss_mib"):
        if f.get(key):
            parts.append(f"{key.replace('_mib', '').replace('_', ' ')} {_fmt(f[key])} MiB")
    for key in ("by_platform", "by_phase"):
        if key in f:
            parts.append(", ".join(f"{k} {_fmt(v)}" for k, v in f[key].items()))
    for key in ("parse_s", "frame_s", "gate_s", "commit_s", "test_exec_s_sum", "model_exec_s_sum",
                "extract_s", "normalize_s", "load_s", "cpu_s", "sandbox_cpu_s", "how", "note"):
        if f.get(key) is not None:
            parts.append(f"{key} {_fmt(f[key])}")
    return "; ".join(parts)


def table(results: Path = RESULTS) -> str:
    lines = []
    for name in ORDER:
        path = results / f"{name}.json"
        if not path.exists():
            lines.append(f"\n**{name}**: not measured yet" + (" (`make bench-scale`)" if name == "scale" else ""))
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        lines.append(f"\n**{name}** — measured {doc['measured_at'][:16]}Z, commit {doc['git_commit']}, "
                     f"{doc['machine']['cpus']} cpus\n")
        lines.append("| figure | value | unit | load avg (1 min, before→after) | notes |")
        lines.append("|---|---:|---|---|---|")
        for f in doc["figures"]:
            la = f.get("load_avg")
            la_text = f"{la[0]:.1f}→{la[1]:.1f}" if isinstance(la, list) and len(la) == 2 else (
                f"{la:.1f}" if isinstance(la, float | int) else "")
            lines.append(f"| {f['figure']} | {_fmt(f['value'])} | {f['unit']} | {la_text} | {_notes(f)} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = table()
    (RESULTS / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
