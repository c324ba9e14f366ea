"""The nightly HTML report: one self-contained static file rendered from the published BI copy.

    from ingestion.publish import report
    path = report.render(settings, lang="sv")   # $SOCIALPULSE_HOME/reports/report-<date>.html

Sections: organisation KPIs, growth per platform, departments, trends (week over week, 28 days over
28, year over year), audience by age versus population, top and bottom accounts, top posts and
accounts needing attention. A section whose mart is not published yet says so instead of failing.
Charts are matplotlib SVG inlined in the page (no scripts, no external files).
"""

from __future__ import annotations

import os
from pathlib import Path

from ingestion.core.days import pacific_today
from ingestion.core.settings import Settings
from ingestion.publish.report.data import ReportData, collect
from ingestion.publish.report.html import render_html
from ingestion.publish.report.i18n import LANGS

__all__ = ["LANGS", "ReportData", "collect", "render", "render_html", "report_dir"]


def report_dir(settings: Settings) -> Path:
    """Where reports are written: `$SOCIALPULSE_HOME/reports`."""
    return settings.home_abs / "reports"


def render(settings: Settings, lang: str = "sv", out_dir: Path | None = None) -> Path:
    """Render the report from the published BI copy; returns the dated file (`latest` is updated too).

    Swedish (the default) writes `report-<date>.html` and `latest.html`; another language writes
    `report-<date>.<lang>.html` and `latest.<lang>.html`. `<date>` is the last platform day in the
    marts. Files are written to a temporary name and renamed, so a reader never sees half a page.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; choose one of {', '.join(LANGS)}")
    data = collect(settings.bi_dir / "socialpulse.duckdb")
    page = render_html(data, lang)
    folder = out_dir or report_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (data.as_of or pacific_today()).isoformat()  # empty marts: today on Meta's clock
    suffix = "" if lang == "sv" else f".{lang}"
    dated, latest = folder / f"report-{stamp}{suffix}.html", folder / f"latest{suffix}.html"
    for target in (dated, latest):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    return dated
