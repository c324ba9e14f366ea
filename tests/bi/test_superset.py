"""Apache Superset end to end: the nightly pipeline publishes against the sandbox, `bi/superset_bi.py
setup` (what `make bi` runs) provisions Superset from bi/dashboards, gunicorn serves it, and headless
Chromium (Debian's chromium + chromium-driver) logs in and opens every dashboard: every chart renders,
none shows an error, each shows data, one number per dashboard equals a direct query on the published
mart; a screenshot of every dashboard is kept. Then a publish while a dashboard is open, and a reload
shows the new day (no restart, no lock error).

The first run creates .venv-bi from bi/requirements.lock (the same code path as `make bi`; ~2-4 min on
2 cores), later runs reuse it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.bi.webdriver import Browser

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bi" / "superset_bi.py"
ARTEFACTS = Path(os.environ.get("SOCIALPULSE_TEST_ARTEFACTS") or "/tmp/socialpulse-test-artefacts")
DASHBOARDS = ("follower_growth", "trends", "audience", "top_posts", "benchmarks", "data_health")

# One number per dashboard, written here independently of the chart definitions: (chart title, SQL on
# the published copy). The big-number charts use the ",d" format (thousands with commas).
EXPECTED = {
    "follower_growth": ("Följare totalt (senast kända per konto)",
                        "select sum(followers) from (select followers, row_number() over (partition by platform, "
                        "account_id order by metric_date desc) as rn from marts.fct_follower_growth_daily "
                        "where followers is not null) where rn = 1"),
    "trends": ("Visningar senaste hela veckan",
               "select sum(views) from marts.fct_account_weekly where week_start = "
               "(select max(week_start) from marts.fct_account_weekly where is_complete_period)"),
    "audience": ("Publik totalt (senaste mätning)",
                 "select sum(audience_count) from marts.fct_audience_demographics "
                 "where is_latest_snapshot and audience_type = 'followers'"),
    "top_posts": ("Inlägg", "select count(*) from marts.fct_post_performance"),
    "benchmarks": ("Konton i jämförelsen",
                   "select count(*) from (select distinct platform, account_id from marts.fct_account_benchmarks "
                   "where metric_date = (select max(metric_date) from marts.fct_account_benchmarks))"),
    "data_health": ("Avvikelser i datan", "select count(*) from marts.fct_data_quality_findings"),
}

# Reads every chart of the open dashboard: its title, whether it is still loading, an error if one is
# shown, and what it drew (canvas pixels for ECharts, table rows, the big number's text).
CHARTS_JS = """
const holders = [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')];
return holders.map(h => {
  const canvases = [...h.querySelectorAll('canvas')].filter(c => c.width > 0 && c.height > 0);
  let painted = 0;
  for (const c of canvases) {
    try {
      const ctx = c.getContext('2d'), d = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4 * 97) { if (d[i] > 0) { painted++; } }
    } catch (e) { painted += 1; }
  }
  const error = h.querySelector('.ant-alert-error, [role="alert"], [data-test="error-tooltip"]');
  return {
    title: (h.querySelector('[data-test="editable-title"], .header-title, [data-test="slice-header"]') || {}).innerText || '',
    loading: !!h.querySelector('[data-test="loading-indicator"], .loading'),
    error: error ? error.innerText.slice(0, 300) : null,
    empty: !!h.querySelector('[data-test="empty-state"]') || /No results|Inga resultat/.test(h.innerText),
    painted: painted,
    rows: h.querySelectorAll('tbody tr').length,
    bignum: (h.querySelector('.header-line') || {}).innerText || null,
    text: h.innerText.slice(0, 400),
  };
});
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(env: dict) -> tuple[str, float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, str(SCRIPT), "setup"], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout, time.monotonic() - started


def _api(base: str, token: str, path: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _token(base: str, password: str) -> str:
    body = json.dumps({"username": "admin", "password": password, "provider": "db", "refresh": False}).encode()
    request = urllib.request.Request(base + "/api/v1/security/login", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["access_token"]


def _inventory(base: str, token: str) -> dict[str, int]:
    q = "?q=(page_size:100)"
    return {kind: _api(base, token, f"/api/v1/{kind}/{q}")["count"] for kind in ("dashboard", "chart", "dataset", "database")}


def _wait_healthy(base: str, server: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=10) as response:
                if response.read().strip() == b"OK":
                    return
        except OSError:
            pass
        assert server.poll() is None, "Superset exited while starting"
        assert time.monotonic() < deadline, f"Superset not healthy after {timeout_s:.0f}s"
        time.sleep(1)


def _load_dashboard(browser: Browser, base: str, slug: str, timeout_s: float = 240) -> list[dict]:
    """Open a dashboard and wait until every chart has finished: drawn something or shown an error."""
    browser.open(f"{base}/superset/dashboard/{slug}/?standalone=0")
    browser.wait("return document.querySelectorAll('[data-test=\"dashboard-component-chart-holder\"]').length > 0",
                 timeout_s, f"the charts of {slug}")
    script = CHARTS_JS + ""
    deadline = time.monotonic() + timeout_s
    while True:
        charts = browser.run(script)
        done = [c for c in charts if not c["loading"] and (c["error"] or c["empty"] or c["painted"] or c["rows"]
                                                            or c["bignum"])]
        if charts and len(done) == len(charts):
            return charts
        assert time.monotonic() < deadline, f"{slug}: charts not rendered: {[c['title'] for c in charts if c not in done]}"
        time.sleep(0.5)


def _digits(value: str) -> int:
    return int(re.sub(r"[^\d-]", "", value))


@pytest.mark.e2e
def test_superset_dashboards_in_headless_chromium(pipeline_env, tmp_path):
    from ingestion.pipeline import run_nightly
    from tests.conftest import SANDBOX_NOW

    settings = pipeline_env
    first = run_nightly(settings, date(2026, 11, 18), now=SANDBOX_NOW)
    assert first.published
    env = {**os.environ, "SOCIALPULSE_HOME": str(settings.home_abs)}
    port = _free_port()
    env["SOCIALPULSE_BI_PORT"] = str(port)

    stdout, elapsed = _setup(env)
    print(f"\nsuperset setup (venv {'reused' if 'creating' not in stdout else 'created'}): {elapsed:.0f}s")
    password_file = settings.home_abs / "superset" / "admin-password"
    password = password_file.read_text().strip()
    assert oct(password_file.stat().st_mode & 0o777) == "0o600" and len(password) >= 20
    assert stdout.count(password) == 1  # printed once, when created
    log = (settings.home_abs / "superset" / "setup.log").read_text()
    assert password not in log

    serve = subprocess.Popen([sys.executable, str(SCRIPT), "serve"], env={**env, "SOCIALPULSE_BI_WORKERS": "1"},
                             stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, serve)
        token = _token(base, password)
        before = _inventory(base, token)
        assert before["dashboard"] == len(DASHBOARDS) and before["database"] == 1
        # Re-running provisioning (as `make bi` does on every start) updates in place.
        again, _ = _setup(env)
        assert password not in again
        assert _inventory(base, token) == before

        con = duckdb.connect(str(settings.bi_dir / "socialpulse.duckdb"), read_only=True)
        expected = {key: con.execute(sql).fetchall()[0][0] for key, (_, sql) in EXPECTED.items()}
        con.close()

        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        timings = {}
        with Browser(tmp_path / "chromium-profile") as browser:
            browser.open(f"{base}/login/")
            browser.wait("return !!document.querySelector('input#username')", 120, "the login form")
            browser.type("input#username", "admin")
            browser.type("input#password", password)
            browser.click("button[type=submit]")
            browser.wait("return !location.pathname.startsWith('/login')", 120, "login")
            for key in DASHBOARDS:
                started = time.monotonic()
                charts = _load_dashboard(browser, base, key.replace("_", "-"))
                timings[key] = time.monotonic() - started
                browser.screenshot(ARTEFACTS / f"superset-{key}.png")
                problems = [f"{c['title']}: {c['error'] or 'no data'}" for c in charts
                            if c["error"] or c["empty"] or not (c["painted"] or c["rows"] or c["bignum"])]
                assert not problems, f"{key}: {problems}"
                title, _ = EXPECTED[key]
                shown = [c["bignum"] for c in charts if title in c["title"]]
                assert shown, f"{key}: no chart titled {title!r} in {[c['title'] for c in charts]}"
                assert _digits(shown[0]) == expected[key], (key, shown[0], expected[key])
            print("dashboard load times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))

            # A publish while the data-health dashboard is open: no restart, and a reload shows the new day.
            charts = _load_dashboard(browser, base, "data-health")
            assert any("2026-11-18" in c["text"] for c in charts if "Senaste dag" in c["title"])
            second = run_nightly(settings, date(2026, 11, 19), now=SANDBOX_NOW)
            assert second.published  # the publisher got its lock: Superset holds no connection to the file
            charts = _load_dashboard(browser, base, "data-health")
            assert not [c for c in charts if c["error"]]
            assert any("2026-11-19" in c["text"] for c in charts if "Senaste dag" in c["title"]), \
                [c["text"] for c in charts]
            browser.screenshot(ARTEFACTS / "superset-data_health-after-publish.png")
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
