"""The nightly report: rendered from a published copy, opened in headless Chromium; every chart is
drawn, the key numbers match the marts, sections whose mart is not published yet say so; a
screenshot is kept as a test artefact."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from ingestion.publish import bi_copy as publish
from ingestion.publish import report
from tests.bi.browser import dump_dom, screenshot
from tests.bi.conftest import keep_artefact
from tests.bi.dashboards import bind_cards


class _Page(HTMLParser):
    """KPI tiles, charts (with the browser probe), missing-section notes and attention rows."""

    def __init__(self) -> None:
        super().__init__()
        self.kpis: dict[str, dict] = {}
        self.charts: dict[str, str] = {}
        self.figures = 0
        self.missing: list[str] = []
        self.attention: list[str] = []
        self.post_rows = 0
        self._kpi: str | None = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "chart" in (a.get("class") or ""):
            self.figures += 1
        if tag == "svg" and "data-chart" in a:
            self.charts[a["data-chart"]] = a.get("data-probe", "")
        if "data-kpi" in a:
            self._kpi = a["data-kpi"]
            self.kpis[self._kpi] = {"value": a.get("data-value"), "text": ""}
        if self._kpi and a.get("class") == "value":
            self._in_value = True
        if "data-missing" in a:
            self.missing.append(a["data-missing"])
        if "data-attention" in a:
            self.attention.append(a["data-attention"])
        if "data-post" in a:
            self.post_rows += 1

    def handle_data(self, data):
        if self._in_value and self._kpi:
            self.kpis[self._kpi]["text"] += data

    def handle_endtag(self, tag):
        if tag == "div" and self._in_value:
            self._in_value = False
            self._kpi = None


def _parse(dom: str) -> _Page:
    page = _Page()
    page.feed(dom)
    return page


def _expected_kpis(warehouse: Path) -> dict[str, float]:
    """The key numbers straight from the marts of the working warehouse, written independently of the report."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        d = con.execute("select max(metric_date) from marts.fct_follower_growth_daily").fetchall()[0][0]
        total = con.execute(
            "select sum(followers) from (select followers, row_number() over (partition by platform, account_id "
            "order by metric_date desc) as rn from marts.fct_follower_growth_daily where followers is not null) "
            "where rn = 1"
        ).fetchall()[0][0]
        net, views, eng = con.execute(
            "select sum(net_followers), sum(views), sum(engagements) from marts.fct_follower_growth_daily "
            "where metric_date > ?", [d - timedelta(days=28)],
        ).fetchall()[0]
        accounts = con.execute("select count(*) from marts.dim_accounts where is_registered").fetchall()[0][0]
    finally:
        con.close()
    return {"as_of": d, "total_followers": total, "net_followers_28d": net, "views_28d": views,
            "engagements_28d": eng, "accounts": accounts}


def _digits(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text)) * (-1 if text.strip().startswith(("-", "\u2212")) else 1)


def _check_report(html: Path, work: Path, expected: dict, charts: set[str], lang: str) -> _Page:
    dom = dump_dom(html, work)
    assert 'data-probe-done="1"' in dom
    page = _parse(dom)
    # Every chart is in the page, laid out at a readable size, with many painted marks.
    assert set(page.charts) == charts and page.figures == len(charts)
    for chart, probe in page.charts.items():
        size, painted = probe.split(":")
        width, height = (int(v) for v in size.split("x"))
        assert width >= 600 and height >= 150, (chart, probe)
        assert int(painted) >= 10, (chart, probe)
    # The key numbers match the marts, in the data attributes and as shown.
    for key in ("total_followers", "net_followers_28d", "views_28d", "engagements_28d", "accounts"):
        assert int(float(page.kpis[key]["value"])) == expected[key], key
        assert _digits(page.kpis[key]["text"]) == expected[key], (key, page.kpis[key]["text"])
    assert f'data-as-of="{expected["as_of"].isoformat()}"' in dom
    assert f'<html lang="{lang}"' in dom
    return page


BASE_CHARTS = {"followers_by_platform", "net_by_platform_week", "net_by_department", "trend_daily"}


def test_report_from_hand_made_marts_degrades_gracefully_and_matches(bi_settings, tmp_path):
    """Only the growth marts and dim_accounts are published: audience and posts say so, and the rest
    of the report is complete (English labels)."""
    publish.publish(bi_settings)
    path = report.render(bi_settings, lang="en")
    assert path == bi_settings.home_abs / "reports" / "report-2026-11-19.en.html"
    assert (bi_settings.home_abs / "reports" / "latest.en.html").read_text() == path.read_text()
    page = _check_report(path, tmp_path, _expected_kpis(bi_settings.warehouse), BASE_CHARTS, "en")
    assert set(page.missing) == {"fct_audience_demographics", "fct_post_performance"}
    text = path.read_text()
    assert "Total followers" in text and "not in the BI copy yet" in text
    # Self-contained: no scripts, style sheets, images or fonts fetched from anywhere.
    assert "<script" not in text and "<link" not in text and "<img" not in text and "@import" not in text
    # The hand-made data has an account that stopped 9 days ago, one that loses followers and one with
    # an unusual last day.
    assert set(page.attention) == {"stale", "declining", "anomaly"}
    # 60 days of history: week over week and 28 over 28 compare, year over year has no earlier period.
    for metric in ("views", "engagements", "net_followers"):
        row = re.search(rf'<tr data-metric="{metric}">(.*?)</tr>', text).group(1)
        previous = dict(re.findall(r'data-period="(\w+)" data-current="[^"]*" data-previous="([^"]*)"', row))
        assert previous["wow"] and previous["mom"] and previous["yoy"] == "", (metric, previous)


def test_report_lists_unhealthy_accounts_from_the_health_mart(bi_settings, tmp_path):
    con = duckdb.connect(str(bi_settings.warehouse))
    con.execute(
        "create table marts.fct_account_health as select * from (values "
        "('facebook', '100000000000000', 'failing', ['token invalid', 'last run failed']), "
        "('instagram', '100000000000001', 'warning', ['token expires in 5 days']), "
        "('facebook', '100000000000002', 'ok', []::varchar[])) t(platform, account_id, health_status, issues)"
    )
    con.close()
    publish.publish(bi_settings)
    path = report.render(bi_settings, lang="en")
    page = _parse(path.read_text())
    assert page.attention.count("health") == 2
    text = path.read_text()
    assert "failing: token invalid; last run failed" in text and "warning: token expires in 5 days" in text


def test_report_languages_and_bad_language(bi_settings):
    publish.publish(bi_settings)
    sv = report.render(bi_settings)
    assert sv.name == "report-2026-11-19.html" and (sv.parent / "latest.html").exists()
    assert "Följare totalt" in sv.read_text() and 'lang="sv"' in sv.read_text()
    with pytest.raises(ValueError, match="unknown report language"):
        report.render(bi_settings, lang="de")


def test_report_without_a_published_copy_says_publish_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "empty"))
    from ingestion.core.settings import load_settings

    with pytest.raises(FileNotFoundError, match="publish"):
        report.render(load_settings())


@pytest.mark.e2e
def test_report_from_the_real_pipeline_in_headless_chromium(pipeline_env, tmp_path):
    """The real nightly chain against the sandbox (fetch, load, dbt build, publish), then the report in
    both languages, opened in headless Chromium; the screenshot is kept."""
    from ingestion.pipeline.chain import run_nightly

    settings = pipeline_env
    run = run_nightly(settings, date(2026, 11, 19))
    assert run.published and "fct_follower_growth_daily" in run.published["tables"]
    expected = _expected_kpis(settings.warehouse)
    tables = set(run.published["tables"])
    charts = BASE_CHARTS | ({"audience_by_age"} if "fct_audience_demographics" in tables else set())
    for lang in ("sv", "en"):
        path = report.render(settings, lang=lang)
        page = _check_report(path, tmp_path, expected, charts, lang)
        assert set(page.missing) == {m for m in ("fct_audience_demographics", "fct_post_performance")
                                     if m not in tables}
        if "fct_post_performance" in tables:
            assert page.post_rows > 0
    # Every dashboard card whose marts were published runs against this real copy.
    con = duckdb.connect(str(settings.bi_dir / "socialpulse.duckdb"), read_only=True)
    try:
        assert bind_cards(con, only_marts=tables) == {}
    finally:
        con.close()
    png = screenshot(settings.home_abs / "reports" / "latest.html", tmp_path / "report-screenshot.png")
    shutil.copy2(settings.home_abs / "reports" / "latest.html", tmp_path / "report.html")
    keep_artefact(png)
    keep_artefact(tmp_path / "report.html")
    _assert_not_blank(png)


def _assert_not_blank(png: Path) -> None:
    from matplotlib.image import imread

    pixels = imread(str(png))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] == 1366
    assert float(pixels[..., :3].std()) > 0.05  # text, charts and cards, not an empty page
