"""Sandbox benchmark: simple insight requests per second on one core, and server memory at 100 vs
50,000 accounts. Prints one JSON object on stdout.

    .venv/bin/python bench/bench_sandbox.py [--requests 20000] [--seconds 20] [--clients 8]

How it measures (and why):

* The server runs in its own process pinned to ONE core (``os.sched_setaffinity``), exactly as
  ``socialpulse sandbox serve`` would run, on a free loopback port. The acceptance target
  (>= 1,000 req/s) is about that single core.
* The load comes from another process pinned to the other core(s), with ``--clients`` threads,
  each holding one HTTP/1.1 keep-alive connection and sending pre-built requests over a raw socket
  (no ``requests``/``http.client`` per-call overhead, so the client is not what is measured).
  Requests are ``GET /graph/v25.0/{page-or-ig}/insights`` for a 7-day window over a sample of
  accounts: the "simple insight request" a nightly run makes most.
* Bounded: at most ``--requests`` requests or ``--seconds`` seconds, loopback only, and every child
  process is stopped at the end.
* Memory: RSS (``VmRSS``) of the server process after touching a sample of accounts (node,
  90-day page insights, IG insights, posts, media, demographics) with 100 and with 50,000
  accounts. Generated data lives in bounded LRU caches, so both figures should be about equal.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox import data as D  # noqa: E402

NOW = "2026-11-20T17:00:00Z"
TOKEN = "bench-token"


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def start_server(accounts: int, cpu: int) -> tuple[subprocess.Popen, str]:
    """``socialpulse sandbox serve`` in a child pinned to ``cpu``; returns (process, base URL)."""
    argv = ["serve", "--port", "0", "--accounts", str(accounts), "--now", NOW]
    code = (
        f"import os, sys; os.sched_setaffinity(0, {{{cpu}}}); sys.path.insert(0, {str(REPO)!r});"
        f"from sandbox.cli import main; raise SystemExit(main({argv!r}))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith("sandbox listening on "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.removeprefix("sandbox listening on ")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Conn:
    """A minimal HTTP/1.1 keep-alive client over a raw socket (GET only, Content-Length bodies)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, target: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buf = rest[length:]
        return status, rest[:length]

    def close(self) -> None:
        self.sock.close()


def insight_targets(accounts: int, sample: int) -> list[str]:
    step = max(1, accounts // sample)
    targets = []
    for i in range(1, accounts + 1, step):
        page, ig = D.facebook_page_id(i), D.instagram_user_id(i)
        targets.append(
            f"/graph/v25.0/{page}/insights?metric=page_follows,page_media_view&period=day"
            f"&since=2026-11-12&until=2026-11-19&access_token={TOKEN}"
        )
        targets.append(
            f"/graph/v25.0/{ig}/insights?metric=reach&period=day&since=2026-11-12&until=2026-11-19"
            f"&access_token={TOKEN}"
        )
    return targets


def touch_targets(accounts: int, sample: int, offset: int = 0) -> list[str]:
    """A realistic nightly mix per account (node, 90-day insights, content, demographics)."""
    step = max(1, accounts // sample)
    out = []
    for i in range(1 + offset % step, accounts + 1, step):
        page, ig = D.facebook_page_id(i), D.instagram_user_id(i)
        q = f"access_token={TOKEN}"
        out += [
            f"/graph/v25.0/{page}?fields=id,name,followers_count,fan_count&{q}",
            f"/graph/v25.0/{page}/insights?metric=page_follows,page_daily_follows_unique,page_media_view"
            f"&since=2026-08-22&until=2026-11-20&{q}",
            f"/graph/v25.0/{page}/published_posts?fields=id,created_time&limit=25&{q}",
            f"/graph/v25.0/{ig}?fields=id,followers_count,media_count&{q}",
            f"/graph/v25.0/{ig}/insights?metric=reach&since=2026-10-21&until=2026-11-20&{q}",
            f"/graph/v25.0/{ig}/media?fields=id,like_count&limit=25&{q}",
            f"/graph/v25.0/{ig}/insights?metric=follower_demographics&period=lifetime&metric_type=total_value"
            f"&breakdown=city&{q}",
        ]
    return out


def drive(base: str, targets: list[str], clients: int, max_requests: int, max_seconds: float) -> dict:
    """Run ``clients`` keep-alive connections in threads until the request or time bound."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    per_client = max_requests // clients
    counts = [0] * clients
    errors = [0] * clients
    deadline = time.monotonic() + max_seconds

    def worker(k: int) -> None:
        conn = Conn(host, port)
        try:
            for j in range(per_client):
                if j % 64 == 0 and time.monotonic() > deadline:
                    break
                status, _ = conn.get(targets[(k * 7919 + j) % len(targets)])
                counts[k] += 1
                if status != 200:
                    errors[k] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    total = sum(counts)
    return {"requests": total, "errors": sum(errors), "seconds": round(elapsed, 3),
            "requests_per_s": round(total / elapsed, 1)}


def _client_main(args: argparse.Namespace) -> None:
    """Entry of the load process (pinned away from the server's core)."""
    os.sched_setaffinity(0, set(json.loads(args.client_cpus)))
    targets = json.loads(sys.stdin.read())
    result = drive(args.base, targets, args.clients, args.requests, args.seconds)
    print(json.dumps(result))


def run_load(base: str, targets: list[str], cpus: list[int], clients: int, requests: int, seconds: float) -> dict:
    cmd = [sys.executable, __file__, "--client", "--base", base, "--client-cpus", json.dumps(cpus),
           "--clients", str(clients), "--requests", str(requests), "--seconds", str(seconds)]
    out = subprocess.run(cmd, input=json.dumps(targets), capture_output=True, text=True, timeout=seconds + 120,
                         check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--touch-sample", type=int, default=2_000, help="accounts touched before measuring RSS")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--client-cpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        _client_main(args)
        return

    cpus = _cpus()
    server_cpu = cpus[0]
    client_cpus = cpus[1:] or cpus
    result: dict = {
        "python": sys.version.split()[0],
        "cpus_available": len(cpus),
        "server_cpu": server_cpu,
        "client_cpus": client_cpus,
        "clients": args.clients,
        "request": "GET /graph/v25.0/{id}/insights, 7-day window (FB: 2 metrics, IG: reach), keep-alive",
    }
    for accounts in (100, 50_000):
        proc, base = start_server(accounts, server_cpu)
        try:
            idle = rss_kib(proc.pid)
            touch = touch_targets(accounts, min(accounts, args.touch_sample))
            run_load(base, touch, client_cpus, args.clients, len(touch), 600)
            touched = rss_kib(proc.pid)
            targets = insight_targets(accounts, min(accounts, 500))
            run_load(base, targets, client_cpus, args.clients, min(2000, args.requests), 30)  # warm-up
            load = run_load(base, targets, client_cpus, args.clients, args.requests, args.seconds)
            result[f"accounts_{accounts}"] = {
                "rss_idle_mib": round(idle / 1024, 1),
                "rss_after_touch_mib": round(touched / 1024, 1),
                "rss_after_load_mib": round(rss_kib(proc.pid) / 1024, 1),
                "accounts_touched": len(touch) // 7,
                "insight_load": load,
            }
            if accounts > args.touch_sample:
                # Touch 3x as many other accounts: RSS must stay at the same ceiling.
                more = touch_targets(accounts, 3 * args.touch_sample, offset=1)
                run_load(base, more, client_cpus, args.clients, len(more), 600)
                result[f"accounts_{accounts}"]["rss_after_touching_3x_more_mib"] = round(rss_kib(proc.pid) / 1024, 1)
                result[f"accounts_{accounts}"]["accounts_touched"] += len(more) // 7
        finally:
            stop_server(proc)
    small = result["accounts_100"]["rss_after_load_mib"]
    large = result["accounts_50000"]["rss_after_load_mib"]
    result["rss_growth_100_to_50000_mib"] = round(large - small, 1)
    result["requests_per_s_one_core"] = result["accounts_100"]["insight_load"]["requests_per_s"]
    result["target_met"] = min(
        result["accounts_100"]["insight_load"]["requests_per_s"],
        result["accounts_50000"]["insight_load"]["requests_per_s"],
    ) >= 1000
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
