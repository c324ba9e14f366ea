"""A live Superset for tests and the benchmark: `bi/superset_bi.py setup` and `serve` (the code `make bi`
runs), its REST API, and a Chromium session that logs in and waits until a dashboard has rendered."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.bi.webdriver import Browser

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bi" / "superset_bi.py"

# Reads every chart of the open dashboard: its title, whether it is still loading, an error if one is
# shown, and what it drew (painted canvas pixels for ECharts, table rows, the big number's text).
CHARTS_JS = """
const holders = [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')];
return holders.map(h => {
  const canvases = [...h.querySelectorAll('canvas')].filter(c => c.width > 0 && c.height > 0);
  let painted = 0;
  for (const c of canvases) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4 * 97) { if (d[i] > 0) { painted++; } }
  }
  const error = h.querySelector('.ant-alert-error, [role="alert"], [data-test="error-tooltip"]');
  return {
    title: (h.querySelector('[data-test="editable-title"], .header-title') || {}).innerText || '',
    loading: !!h.querySelector('[data-test="loading-indicator"], .loading'),
    error: error ? error.innerText.slice(0, 300) : null,
    empty: !!h.querySelector('[data-test="empty-state"]') || /No results/.test(h.innerText),
    painted: painted,
    rows: h.querySelectorAll('tbody tr').length,
    bignum: (h.querySelector('.header-line') || {}).innerText || null,
    text: h.innerText.slice(0, 400),
  };
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_setup(env: dict) -> tuple[str, float]:
    """`superset_bi.py setup` (creates .venv-bi when missing); returns its stdout and wall seconds."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, str(SCRIPT), "setup"], env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout, time.monotonic() - started


class Server:
    """`superset_bi.py serve` in its own process group on a free port; stopped on exit."""

    def __init__(self, env: dict, log: Path, workers: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**env, "SOCIALPULSE_BI_PORT": str(self.port), "SOCIALPULSE_BI_WORKERS": str(workers)}
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, str(SCRIPT), "serve"], env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, timeout_s: float = 300) -> float:
        started = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=10) as response:
                    if response.read().strip() == b"OK":
                        return time.monotonic() - started
            except OSError:
                pass
            assert self.process.poll() is None, "Superset exited while starting"
            assert time.monotonic() - started < timeout_s, f"Superset not healthy after {timeout_s:.0f}s"
            time.sleep(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def token(base: str, password: str) -> str:
    body = json.dumps({"username": "admin", "password": password, "provider": "db", "refresh": False}).encode()
    request = urllib.request.Request(base + "/api/v1/security/login", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["access_token"]


def inventory(base: str, bearer: str) -> dict[str, int]:
    """How many dashboards, charts, datasets and databases Superset holds."""
    out = {}
    for kind in ("dashboard", "chart", "dataset", "database"):
        request = urllib.request.Request(f"{base}/api/v1/{kind}/?q=(page_size:100)",
                                         headers={"Authorization": f"Bearer {bearer}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            out[kind] = json.loads(response.read())["count"]
    return out


def login(browser: Browser, base: str, password: str, attempts: int = 3) -> None:
    """Through the login form, as a person would.

    Superset's login page is a React app: on a busy machine the server-rendered form can take the
    typed text before React hydrates it and then render it empty again, so the submit posts nothing
    and the page stays on /login (seen once in a fresh-clone CI run). The form's values are checked
    before submitting, and a submit that leaves the browser on /login is tried again, up to
    `attempts` times; a wrong password still fails every attempt.
    """
    for _ in range(attempts):
        browser.open(f"{base}/login/")
        browser.wait("return document.readyState === 'complete' && !!document.querySelector('input#username')",
                     120, "the login form")
        browser.type("input#username", "admin")
        browser.type("input#password", password)
        typed = browser.run("return [document.querySelector('input#username').value, "
                            "document.querySelector('input#password').value.length]")
        if typed != ["admin", len(password)]:
            continue
        browser.click("button[type=submit]")
        try:
            browser.wait("return !location.pathname.startsWith('/login')", 60, "the login")
            return
        except AssertionError:
            continue
    raise AssertionError(f"the login form did not log in after {attempts} attempts")


def load_dashboard(browser: Browser, base: str, slug: str, timeout_s: float = 300, reopen: bool = True) -> list[dict]:
    """Open a dashboard (or wait on the page the browser is loading) until every chart has finished:
    drawn something or shown an error. Returns what CHARTS_JS read."""
    if reopen:
        browser.open(f"{base}/superset/dashboard/{slug}/")
    browser.wait("return document.querySelectorAll('[data-test=\"dashboard-component-chart-holder\"]').length > 0",
                 timeout_s, f"the charts of {slug}")
    deadline = time.monotonic() + timeout_s
    while True:
        charts = browser.run(CHARTS_JS)
        done = [c for c in charts if not c["loading"] and (c["error"] or c["empty"] or c["painted"] or c["rows"]
                                                            or c["bignum"])]
        if charts and len(done) == len(charts):
            return charts
        pending = [c["title"] for c in charts if c not in done]
        assert time.monotonic() < deadline, f"{slug}: charts not rendered: {pending}"
        time.sleep(0.25)
