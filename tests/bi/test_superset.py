"""Apache Superset end to end: the nightly pipeline publishes against the sandbox, `bi/superset_bi.py
setup` (what `make bi` runs) provisions Superset from bi/dashboards, gunicorn serves it, and headless
Chromium (Debian's chromium + chromium-driver) logs in and opens every dashboard: every chart renders,
none shows an error, each shows data, one number per dashboard equals a direct query on the published
mart; a screenshot of every dashboard is kept. Then a publish while a dashboard is open, and a reload
shows the new day (no restart, no lock error).

The first run creates .venv-bi from bi/requirements.lock (the same code path as `make bi`; ~2-4 min on
2 busy cores), later runs reuse it.
"""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.bi.superset_live import Server, inventory, load_dashboard, login, run_setup, token
from tests.bi.webdriver import Browser

ARTEFACTS = Path(os.environ.get("SOCIALPULSE_TEST_ARTEFACTS") or "/tmp/socialpulse-test-artefacts")
DASHBOARDS = ("follower_growth", "trends", "audience", "top_posts", "benchmarks", "data_health", "peers")
LATEST_DAY = "select max(metric_date) from marts.fct_account_daily where views is not null"

# One number per dashboard, written here independently of the chart definitions: (chart title, SQL on
# the published copy). The big-number charts use the ",d" format (thousands with commas).
EXPECTED = {
    "follower_growth": (
        "Följare totalt (senast kända per konto)",
        "select sum(followers) from (select followers, row_number() over (partition by platform, "
        "account_id order by metric_date desc) as rn from marts.fct_follower_growth_daily "
        "where followers is not null) where rn = 1",
    ),
    "trends": (
        "Visningar senaste hela veckan",
        "select sum(views) from marts.fct_account_weekly where week_start = "
        "(select max(week_start) from marts.fct_account_weekly where is_complete_period)",
    ),
    "audience": (
        "Publik totalt (senaste mätning)",
        "select sum(audience_count) from marts.fct_audience_demographics "
        "where is_latest_snapshot and audience_type = 'followers'",
    ),
    "top_posts": ("Inlägg", "select count(*) from marts.fct_post_performance"),
    "benchmarks": (
        "Konton i jämförelsen",
        "select count(*) from (select distinct platform, account_id from marts.fct_account_benchmarks "
        "where metric_date = (select max(metric_date) from marts.fct_account_benchmarks))",
    ),
    "data_health": ("Avvikelser i datan", "select count(*) from marts.fct_data_quality_findings"),
    "peers": (
        "Vår plats (alla plattformar)",
        "select min(rank_followers) from marts.fct_peer_comparison_daily where is_own and platform = 'all' "
        "and snapshot_date = (select max(snapshot_date) from marts.fct_peer_comparison_daily)",
    ),
}


def _query(settings, sql: str):
    con = duckdb.connect(str(settings.bi_dir / "socialpulse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def _latest_day_shown(charts: list[dict]) -> str:
    """The date in the data-health dashboard's "latest day with insights" table."""
    [chart] = [c for c in charts if c["title"].startswith("Senaste dag")]
    found = re.findall(r"\d{4}-\d{2}-\d{2}", chart["text"])
    assert found, chart["text"]
    return found[0]


def _digits(value: str) -> int:
    return int(re.sub(r"[^\d-]", "", value))


def _check(key: str, charts: list[dict], expected: int) -> None:
    problems = [
        f"{c['title']}: {c['error'] or 'no data'}"
        for c in charts
        if c["error"] or c["empty"] or not (c["painted"] or c["rows"] or c["bignum"])
    ]
    assert not problems, f"{key}: {problems}"
    title, _ = EXPECTED[key]
    shown = [c["bignum"] for c in charts if c["title"] == title]
    assert shown, f"{key}: no chart titled {title!r} in {[c['title'] for c in charts]}"
    assert _digits(shown[0]) == expected, (key, shown[0], expected)


@pytest.mark.e2e
@pytest.mark.timeout(1800)  # a fresh clone first creates .venv-bi (~2 min alone, longer on busy cores)
def test_superset_dashboards_in_headless_chromium(pipeline_env, tmp_path):
    from ingestion.pipeline.chain import run_nightly
    from tests.conftest import SANDBOX_NOW

    settings = pipeline_env
    assert run_nightly(settings, date(2026, 11, 17), now=SANDBOX_NOW).published
    env = {**os.environ, "SOCIALPULSE_HOME": str(settings.home_abs)}

    stdout, elapsed = run_setup(env)
    print(f"\nsuperset setup ({'venv created' if 'creating' in stdout else 'venv reused'}): {elapsed:.0f}s")
    password_file = settings.home_abs / "superset" / "admin-password"
    password = password_file.read_text().strip()
    assert oct(password_file.stat().st_mode & 0o777) == "0o600" and len(password) >= 20
    assert stdout.count(password) == 1  # printed once, when created
    assert password not in (settings.home_abs / "superset" / "setup.log").read_text()

    with Server(env, tmp_path / "serve.log") as server:
        print(f"superset serve: healthy after {server.wait_healthy():.0f}s")
        bearer = token(server.base, password)
        before = inventory(server.base, bearer)
        assert before["dashboard"] == len(DASHBOARDS) and before["database"] == 1
        # Re-running provisioning (as `make bi` does on every start) updates in place, prints no password.
        again, elapsed = run_setup(env)
        print(f"superset setup again: {elapsed:.0f}s")
        assert password not in again and inventory(server.base, bearer) == before

        expected = {key: _query(settings, sql) for key, (_, sql) in EXPECTED.items()}
        day_before = _query(settings, LATEST_DAY)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        timings = {}
        with Browser(tmp_path / "chromium-profile") as browser:
            login(browser, server.base, password)
            for key in DASHBOARDS:
                started = time.monotonic()
                charts = load_dashboard(browser, server.base, key.replace("_", "-"))
                timings[key] = time.monotonic() - started
                browser.screenshot(ARTEFACTS / f"superset-{key}.png")
                _check(key, charts, expected[key])
            print("dashboard load (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))

            # A publish while the data-health dashboard is open: no restart, and a reload shows the new day.
            charts = load_dashboard(browser, server.base, "data-health")
            assert _latest_day_shown(charts) == day_before.isoformat()
            assert run_nightly(settings, date(2026, 11, 18), now=SANDBOX_NOW).published
            day_after = _query(settings, LATEST_DAY)
            assert day_after > day_before
            browser.refresh()  # the browser's reload button (WebDriver waits for the page load)
            charts = load_dashboard(browser, server.base, "data-health", reopen=False)
            _check("data_health", charts, _query(settings, EXPECTED["data_health"][1]))
            assert _latest_day_shown(charts) == day_after.isoformat()
            browser.screenshot(ARTEFACTS / "superset-data_health-after-publish.png")
    print(f"screenshots: {ARTEFACTS}/superset-*.png")
