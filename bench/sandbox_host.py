"""The benchmark's sandbox: one `SandboxServer` in its own process, shared by every client.

Why a separate process: the clients under test (our fetch engine, dlt) must not share a GIL with
the server, and both must see the very same server. Why not `socialpulse sandbox serve`: the
benchmark needs two knobs the CLI does not have (see `--headroom`) and the server's peak RSS.

    .venv/bin/python -m bench.sandbox_host --accounts 80 --youtube-channels 10 --latency-ms 50 \
        [--headroom] [--real-clock] [--profile OUT.pstats]

Prints `sandbox listening on URL` on the first stdout line, serves until stdin closes (or a line
`quit` arrives), then prints one JSON line: {"peak_rss_mib": ..., "rss_mib": ..., "cpu_s": ...}.
A line `cpu` on stdin is answered with {"cpu_s": ...} (the server's CPU seconds so far); a line
`now <ISO-8601 UTC time>` moves the sandbox clock there and is answered with {"now": ...} (the
benchmark runs each night at its own sandbox time, as the platform would see it).

`--headroom`: usage headers report the real call counts against a limit no run can reach (object
budget 10^9 calls/h, app limit 10^9 calls/h), so the client's usage-based pacing never engages.
Without it the sandbox's defaults apply (nominal 200 calls per object per hour, 10,000 per app per
hour: percentages rise quickly and the fetch engine slows itself down, see bench/README.md).

`--real-clock`: the sandbox's clock is the machine's instead of NOW, for a benchmark whose runs are
dated by a real scheduler (bench_airflow: the nightly DAG's latest scheduled interval).

`--profile OUT`: every connection thread runs under its own cProfile profiler (cProfile only sees
the thread that enabled it, and the server answers each keep-alive connection in a thread of its
own); their stats are merged and written to OUT (pstats format) when the server stops. Read it
with `python -m pstats OUT` or `pstats.Stats(OUT).sort_stats("tottime").print_stats(30)`. Where the
stand-in server's CPU goes (bench/README.md, "Sandbox CPU per call").
"""

from __future__ import annotations

import json
import resource
import sys
from datetime import UTC, datetime

from bench.common import parse_options

NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
HEADROOM_CALLS_PER_HOUR = 10**9


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class _ThreadProfiles:
    """cProfile for the server's connection threads: one profiler per thread, merged at the end."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._done: list = []

    def install(self, server_cls: type) -> None:
        """Wrap `server_cls.process_request_thread` (socketserver.ThreadingMixIn's per-connection
        thread body) so that each connection is served under a profiler of its own."""
        import cProfile

        original = server_cls.process_request_thread

        def profiled(server, request, client_address):
            prof = cProfile.Profile()
            prof.enable()
            try:
                original(server, request, client_address)
            finally:
                prof.disable()
                with self._lock:
                    self._done.append(prof)

        server_cls.process_request_thread = profiled

    def dump(self, out: str) -> None:
        import pstats
        import time

        time.sleep(0.5)  # connection threads closed by server.stop() finish their last request
        with self._lock:
            done = list(self._done)
        if done:
            pstats.Stats(*done).dump_stats(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_options(__doc__, argv, accounts=80, youtube_channels=10, latency_ms=50.0, seed=42, headroom=False,
                         real_clock=False, profile="")

    from sandbox import server as server_mod
    from sandbox.server import SandboxConfig, SandboxServer

    profiles = _ThreadProfiles() if args.profile else None
    if profiles is not None:
        profiles.install(server_mod._HTTPServer)

    config = SandboxConfig(accounts=args.accounts, seed=args.seed, latency_ms=args.latency_ms,
                           now=None if args.real_clock else NOW,
                           youtube_channels=args.youtube_channels, youtube_quota_per_day=None,
                           call_budget_per_hour=HEADROOM_CALLS_PER_HOUR if args.headroom else None)
    server = SandboxServer(config).start()
    if args.headroom:
        server.app.usage.app_limit = HEADROOM_CALLS_PER_HOUR  # no CLI/config knob for the app limit
    print(f"sandbox listening on {server.base_url}", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            if line.strip() == "cpu":  # the server's CPU seconds so far (to split a phase's time)
                usage = resource.getrusage(resource.RUSAGE_SELF)
                print(json.dumps({"cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}), flush=True)
            elif line.startswith("now "):  # the sandbox clock of the next run
                server.set_now(datetime.fromisoformat(line.split(" ", 1)[1].strip()))
                print(json.dumps({"now": server.now.isoformat()}), flush=True)
    finally:
        server.stop()
        if profiles is not None:
            profiles.dump(args.profile)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"peak_rss_mib": _status_mib("VmHWM"), "rss_mib": _status_mib("VmRSS"),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
