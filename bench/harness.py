"""Plumbing shared by bench.run_all and its sections: the sandbox process, phase processes, load averages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = "bench-token-0123456789"
# The sandbox clock is frozen at 2026-11-20T17:00Z (bench.sandbox_host.NOW): the last complete
# Pacific day is 2026-11-19. The backfill loads the two years up to the day before; the nightly
# then reads its usual trailing window ending AS_OF, on top.
AS_OF = date(2026, 11, 19)


def sandbox_time(day: date) -> datetime:
    """The sandbox clock of a run whose last platform day is `day`: 17:00Z the day after, the hour
    the timed nightly for AS_OF runs at (bench.sandbox_host.NOW)."""
    return datetime.combine(day + timedelta(days=1), dt_time(17, 0), tzinfo=UTC)


def loadavg() -> list[float]:
    """1, 5 and 15 minute load averages (the machine is shared: figures are noisy)."""
    return [round(x, 2) for x in os.getloadavg()]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')} load {loadavg()[0]:.1f}] {message}", file=sys.stderr, flush=True)


@contextmanager
def sandbox(accounts: int, youtube: int, latency_ms: float, headroom: bool = True, real_clock: bool = False):
    """Start bench.sandbox_host in its own process; yields a dict with `url` (and `peak_rss_mib`
    after the block)."""
    cmd = [PYTHON, "-m", "bench.sandbox_host", "--accounts", str(accounts), "--youtube-channels", str(youtube),
           "--latency-ms", str(latency_ms)] + (["--headroom"] if headroom else []) + (
               ["--real-clock"] if real_clock else [])
    proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info: dict[str, Any] = {"pid": proc.pid}
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not line.startswith("sandbox listening on "):
            raise RuntimeError(f"sandbox did not start: {line!r}")
        info["url"] = line.removeprefix("sandbox listening on ")

        def cpu_s() -> float:
            proc.stdin.write("cpu\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            return float(json.loads(proc.stdout.readline())["cpu_s"])  # type: ignore[union-attr]

        def set_now(now: datetime) -> None:
            proc.stdin.write(f"now {now.isoformat()}\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            json.loads(proc.stdout.readline())  # type: ignore[union-attr]

        info["cpu_s"] = cpu_s
        info["set_now"] = set_now
        yield info
    finally:
        info.pop("cpu_s", None)
        info.pop("set_now", None)
        try:
            out, _ = proc.communicate("quit\n", timeout=30)
            for row in out.splitlines():
                if row.startswith("{"):
                    info.update(json.loads(row))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pipeline_env(home: Path, registry: Path, url: str, **extra: str) -> dict[str, str]:
    """SOCIALPULSE_* settings pointing a data folder at the benchmark sandbox."""
    return {
        **os.environ,
        "SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(registry),
        "SOCIALPULSE_GRAPH_URL": f"{url}/graph", "SOCIALPULSE_YOUTUBE_DATA_URL": f"{url}/youtube/v3",
        "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": f"{url}/youtubeanalytics/v2",
        "SOCIALPULSE_META_TOKEN": TOKEN, "SOCIALPULSE_YOUTUBE_TOKEN": TOKEN,
        "GX_ANALYTICS_ENABLED": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **extra,
    }


def run_reporting(cmd: list[str], logfile: Path, marker: str, what: str, *, tail_lines: int,
                  cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[dict[str, Any], float]:
    """Run a measured child process; returns the JSON of its last `<marker> {...}` stdout line and its wall seconds.

    The child's stderr goes to `logfile`. Why one home: a phase and a dlt peer run are read the same
    way, and a failure (non-zero exit, or no result line) must show the log's tail and the stdout's
    end, not just an exit code.
    """
    started = time.perf_counter()
    with logfile.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=fh, text=True)
    elapsed = time.perf_counter() - started
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(marker + " "):
            result = json.loads(line.removeprefix(marker + " "))
    if proc.returncode != 0 or result is None:
        tail = logfile.read_text(encoding="utf-8", errors="replace").splitlines()[-tail_lines:]
        raise RuntimeError(f"{what} failed (exit {proc.returncode}); log {logfile}:\n" + "\n".join(tail)
                           + "\n" + proc.stdout[-3000:])
    return result, elapsed


def run_phase(phase: str, env: dict[str, str], work: Path, run_id: str, as_of: date,
              since: date | None = None, sandbox_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one bench.phases process; returns its JSON result plus the load average around it (and
    the sandbox's CPU seconds during it, when `sandbox_info` is given)."""
    cmd = [PYTHON, "-m", "bench.phases", phase, "--work", str(work), "--run-id", run_id, "--as-of", as_of.isoformat()]
    if since is not None:
        cmd += ["--since", since.isoformat()]
    before = loadavg()
    server_cpu = sandbox_info["cpu_s"]() if sandbox_info else None
    result, elapsed = run_reporting(cmd, work / f"{run_id}-{phase}.log", "BENCH-RESULT", f"phase {phase}",
                                    tail_lines=30, cwd=REPO, env=env)
    result["spawn_s"] = round(elapsed, 3)
    if server_cpu is not None:
        result["sandbox_cpu_s"] = round(sandbox_info["cpu_s"]() - server_cpu, 2)  # type: ignore[index]
    result["load_avg_before"] = before
    result["load_avg_after"] = loadavg()
    (work / f"{run_id}-{phase}.json").write_text(json.dumps(result, default=str), encoding="utf-8")
    log(f"{run_id} {phase}: {result['wall_s']:.1f} s (process {elapsed:.1f} s, peak RSS {result['peak_rss_mib']} MiB)")
    return result
