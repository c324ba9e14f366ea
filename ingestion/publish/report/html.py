"""The report page: plain HTML and CSS, charts inlined as SVG, every key number also in a data attribute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Any

from ingestion.publish.report import charts
from ingestion.publish.report.data import ReportData
from ingestion.publish.report.i18n import fmt_int, fmt_num, fmt_pct, labels
from ingestion.publish.report.reader import Missing

ATTENTION_ROWS_PER_KIND = 15

CSS = """
:root { --ink:#1d2430; --muted:#5b6574; --line:#dde2ea; --bg:#f6f7f9; --card:#fff; --accent:#0072B2; --bad:#D55E00; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.45 "DejaVu Sans", "Segoe UI", system-ui, -apple-system, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { font-size: 26px; margin: 0 0 4px; }
.meta, .note, figcaption, footer { color: var(--muted); font-size: 13px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px;
          margin: 18px 0; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 14px 0 8px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.kpi .label { color: var(--muted); font-size: 13px; }
.kpi .value { font-size: 24px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
.kpi .def { color: var(--muted); font-size: 12px; margin-top: 4px; }
figure.chart { margin: 8px 0 14px; }
figure.chart svg { width: 100%; height: auto; display: block; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.neg { color: var(--bad); }
.est { color: var(--muted); font-size: 12px; }
.missing { color: var(--muted); font-style: italic; background: var(--bg); padding: 10px 12px; border-radius: 6px; }
.tag { display:inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; background: #eef2f7; }
.tag.stale, .tag.health { background: #fdebd9; } .tag.declining, .tag.anomaly { background: #fbe3e3; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _missing(m: Missing, t: dict[str, str]) -> str:
    text = (t["missing_columns"].format(mart=m.mart, columns=", ".join(m.columns)) if m.columns
            else t["missing_mart"].format(mart=m.mart))
    return f'<p class="missing" data-missing="{_e(m.mart)}">{_e(text)}</p>'


def _empty(t: dict[str, str]) -> str:
    return f'<p class="missing">{_e(t["no_rows"])}</p>'


def _no_rows(rows: list[dict] | Missing, t: dict[str, str]) -> str | None:
    """What a section shows instead of its rows: the missing-mart note, the empty note, or None (draw them).

    Why one home: every section without rows must say *why* in the same words and markup.
    """
    if isinstance(rows, Missing):
        return _missing(rows, t)
    return None if rows else _empty(t)


def _table(head: str, body: str) -> str:
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


def _value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, float):
        return repr(round(v, 10))
    return str(v)


def _kpis(data: ReportData, t: dict[str, str], lang: str) -> str:
    k = data.kpis
    if isinstance(k, Missing):
        return _missing(k, t)
    tiles = [
        ("total_followers", k["total_followers"], fmt_int(k["total_followers"], lang)),
        ("net_followers_28d", k["net_followers_28d"], fmt_int(k["net_followers_28d"], lang)),
        ("views_28d", k["views_28d"], fmt_int(k["views_28d"], lang)),
        ("engagements_28d", k["engagements_28d"], fmt_int(k["engagements_28d"], lang)),
        ("engagement_rate_28d", k["engagement_rate_28d"], fmt_pct(k["engagement_rate_28d"], lang, 2)),
        ("followers_per_1000", k["followers_per_1000"], fmt_num(k["followers_per_1000"], lang)),
        ("accounts", k["accounts"], fmt_int(k["accounts"], lang)),
        ("estimated_share", k["estimated_share"], fmt_pct(k["estimated_share"], lang)),
    ]
    html = "".join(
        f'<div class="kpi" data-kpi="{key}" data-value="{_e(_value(raw))}"><div class="label">{_e(t[key])}</div>'
        f'<div class="value">{_e(shown)}</div>'
        + (f'<div class="def">{_e(t[key + "_def"])}</div>' if key + "_def" in t else "")  # what it counts
        + '</div>'
        for key, raw, shown in tiles
    )
    return f'<div class="kpis">{html}</div><p class="note">{_e(t["estimated_note"])}</p>'


def _platform(p: str, t: dict[str, str]) -> str:
    return t.get(f"platform_{p}", p)


def _part(rows: list[dict] | Missing, t: dict[str, str], draw: Callable[[list[dict]], str]) -> str:
    """One chart of a section with several: the missing-mart note, nothing without rows, or `draw(rows)`."""
    if isinstance(rows, Missing):
        return _missing(rows, t)
    return draw(rows) if rows else ""


def _followers_chart(rows: list[dict], t: dict[str, str], lang: str) -> str:
    series: dict[str, tuple[list, list]] = {}
    colours = {}
    for r in rows:
        label = _platform(r["platform"], t)
        colours[label] = charts.PLATFORM_COLOURS.get(r["platform"], charts.PALETTE[0])
        xs, ys = series.setdefault(label, ([], []))
        xs.append(r["metric_date"])
        ys.append(r["followers"])
    svg = charts.line_chart("followers_by_platform", t["followers_by_platform"], series, lang, colours)
    return _figure(svg, t["day_note"])


def _weekly_net_chart(weeks: list[dict], t: dict[str, str], lang: str) -> str:
    week_starts = sorted({r["week_start"] for r in weeks})
    platforms = sorted({r["platform"] for r in weeks})
    lookup = {(r["week_start"], r["platform"]): r["net_followers"] for r in weeks}
    groups = {_platform(p, t): [lookup.get((w, p)) for w in week_starts] for p in platforms}
    colours = {_platform(p, t): charts.PLATFORM_COLOURS.get(p, charts.PALETTE[0]) for p in platforms}
    cats = [f"v{w.isocalendar()[1]}" if lang == "sv" else f"W{w.isocalendar()[1]}" for w in week_starts]
    svg = charts.grouped_bars("net_by_platform_week", t["net_by_platform_week"], cats, groups, lang, colours)
    return _figure(svg, t["net_by_platform_week"])


def _growth(data: ReportData, t: dict[str, str], lang: str) -> str:
    out = [_part(data.followers_by_platform, t, lambda rows: _followers_chart(rows, t, lang)),
           _part(data.net_by_platform_week, t, lambda weeks: _weekly_net_chart(weeks, t, lang))]
    return "".join(out) or _empty(t)


def _departments(data: ReportData, t: dict[str, str], lang: str) -> str:
    rows = data.departments
    if (note := _no_rows(rows, t)) is not None:
        return note
    svg = charts.horizontal_bars("net_by_department", t["net_by_department"], [r["department"] for r in rows],
                                 [r["net_28d"] for r in rows], lang)
    body = "".join(
        f'<tr data-department="{_e(r["department"])}"><td>{_e(r["department"])}</td>'
        f'<td class="num">{fmt_int(r["accounts"], lang)}</td>'
        f'<td class="num" data-value="{_e(_value(r["followers"]))}">{fmt_int(r["followers"], lang)}</td>'
        f'<td class="num{" neg" if (r["net_28d"] or 0) < 0 else ""}" data-value="{_e(_value(r["net_28d"]))}">'
        f'{fmt_int(r["net_28d"], lang)}</td>'
        f'<td class="num">{fmt_int(r["views_28d"], lang)}</td>'
        f'<td class="num">{fmt_pct(r["engagement_rate"], lang, 2)}</td></tr>'
        for r in rows
    )
    head = (f'<tr><th>{_e(t["department"])}</th><th class="num">{_e(t["accounts"])}</th>'
            f'<th class="num">{_e(t["followers"])}</th><th class="num">{_e(t["net_28d"])}</th>'
            f'<th class="num">{_e(t["views"])} 28 d</th><th class="num">{_e(t["engagement_rate"])}</th></tr>')
    return _figure(svg, t["net_by_department"]) + _table(head, body)


def _trend_chart(rows: list[dict], t: dict[str, str], lang: str) -> str:
    xs = [r["metric_date"] for r in rows]
    series = {t["views"]: (xs, [r["views_7d_avg"] for r in rows]),
              t["engagements"]: (xs, [r["engagements_7d_avg"] for r in rows])}
    return _figure(charts.small_multiples("trend_daily", t["trend_chart"], series, lang), t["day_note"])


def _comparisons(comp: list[dict] | Missing, t: dict[str, str], lang: str) -> str:
    if isinstance(comp, Missing):
        return _missing(comp, t)
    head = f'<tr><th>{_e(t["metric"])}</th>' + "".join(
        f'<th class="num">{_e(t[k])}</th>' for k in ("wow", "mom", "yoy")) + "</tr>"
    body = ""
    for r in comp:
        cells = ""
        for k in ("wow", "mom", "yoy"):
            c = r[k]
            neg = c["change"] is not None and c["change"] < 0
            cells += (f'<td class="num{" neg" if neg else ""}" data-period="{k}" '
                      f'data-current="{_e(_value(c["current"]))}" data-previous="{_e(_value(c["previous"]))}">'
                      f'{fmt_pct(c["change"], lang, 1, signed=True)}<br><span class="est">'
                      f'{fmt_int(c["current"], lang)} / {fmt_int(c["previous"], lang)}</span></td>')
        label = {"views": t["views"], "engagements": t["engagements"], "net_followers": t["net_followers"]}
        body += f'<tr data-metric="{r["metric"]}"><td>{_e(label[r["metric"]])}</td>{cells}</tr>'
    return _table(head, body) + f'<p class="note">{_e(t["current"])} / {_e(t["previous"])}</p>'


def _trends(data: ReportData, t: dict[str, str], lang: str) -> str:
    chart = _part(data.trend_daily, t, lambda rows: _trend_chart(rows, t, lang))
    return chart + _comparisons(data.comparisons, t, lang)


def _audience(data: ReportData, t: dict[str, str], lang: str) -> str:
    rows = data.audience
    if (note := _no_rows(rows, t)) is not None:
        return note
    groups = {t["audience_share"]: [r["audience_share"] for r in rows],
              t["population_share"]: [r["population_share"] for r in rows]}
    svg = charts.grouped_bars("audience_by_age", t["audience_chart"], [str(r["age_group"]) for r in rows], groups,
                              lang, percent=True)
    return _figure(svg, t["audience_chart"])


def _accounts_table(rows: list[dict] | Missing, t: dict[str, str], lang: str) -> str:
    if (note := _no_rows(rows, t)) is not None:
        return note
    head = (f'<tr><th>{_e(t["account"])}</th><th>{_e(t["platform"])}</th><th class="num">{_e(t["followers"])}</th>'
            f'<th class="num">{_e(t["growth_28d"])}</th><th class="num">{_e(t["engagement_rate"])}</th></tr>')
    body = "".join(
        f'<tr data-account="{_e(r["platform"])}:{_e(r["account_id"])}" data-growth="{_e(_value(r["growth_28d"]))}">'
        f'<td>{_e(r["name"])}<br><span class="est">{_e(r["department"])}</span></td>'
        f'<td>{_e(_platform(r["platform"], t))}</td>'
        f'<td class="num">{fmt_int(r["followers"], lang)}'
        f'{"<br><span class=est>" + _e(t["estimated"]) + "</span>" if r["is_estimated"] else ""}</td>'
        f'<td class="num{" neg" if (r["growth_28d"] or 0) < 0 else ""}">{fmt_pct(r["growth_28d"], lang, 1, True)}</td>'
        f'<td class="num">{fmt_pct(r["engagement_rate"], lang, 2)}</td></tr>'
        for r in rows
    )
    return _table(head, body)


def _posts(data: ReportData, t: dict[str, str], lang: str) -> str:
    rows = data.top_posts
    if (note := _no_rows(rows, t)) is not None:
        return note
    body = ""
    for r in rows:
        caption = (r.get("caption") or r["object_id"])[:90]
        link = (f'<a href="{_e(r["permalink"])}">{_e(caption)}</a>' if r.get("permalink", "").startswith("https://")
                else _e(caption)) if r.get("permalink") else _e(caption)
        body += (f'<tr data-post="{_e(r["object_id"])}"><td>{link}<br><span class="est">'
                 f'{_e(_platform(r.get("platform", ""), t))} {_e(_value(r.get("published_at"))[:10])}</span></td>'
                 f'<td class="num">{fmt_int(r.get("views"), lang)}</td>'
                 f'<td class="num">{fmt_int(r["engagements"], lang)}</td></tr>')
    head = (f'<tr><th>{_e(t["post"])}</th><th class="num">{_e(t["views"])}</th>'
            f'<th class="num">{_e(t["engagements"])}</th></tr>')
    return _table(head, body)


def _attention(data: ReportData, t: dict[str, str], lang: str) -> str:
    rows = data.attention
    if isinstance(rows, Missing):
        return _missing(rows, t)
    if not rows:
        return f'<p class="note">{_e(t["nothing_to_fix"])}</p>'
    body, shown = "", {}
    hidden: dict[str, int] = {}
    for r in rows:
        kind = r["kind"]
        shown[kind] = shown.get(kind, 0) + 1
        if shown[kind] > ATTENTION_ROWS_PER_KIND:
            hidden[kind] = hidden.get(kind, 0) + 1
            continue
        if kind == "stale":
            reason = t["stale"].format(date=_value(r["value"]) or t["na"])
        elif kind == "declining":
            reason = t["declining"].format(value=fmt_int(r["value"], lang))
        elif kind == "anomaly":
            reason = t["anomaly"].format(date=_value(r["metric_date"]), value=fmt_int(r["value"], lang),
                                         mean=fmt_num(r["mean_28d"], lang), sd=fmt_num(r["sd_28d"], lang))
        else:
            reason = t[kind].format(value=_value(r["value"]))
        body += (f'<tr data-attention="{kind}" data-account="{_e(r["platform"])}:{_e(r["account_id"])}">'
                 f'<td>{_e(r["name"])}</td><td>{_e(_platform(r["platform"], t))}</td>'
                 f'<td><span class="tag {kind}">{_e(kind)}</span> {_e(reason)}</td></tr>')
    for kind, n in hidden.items():
        body += (f'<tr data-attention-hidden="{kind}" data-count="{n}"><td colspan="3" class="est">'
                 f'<span class="tag {kind}">{_e(kind)}</span> {_e(t["more"].format(n=n))}</td></tr>')
    head = f'<tr><th>{_e(t["account"])}</th><th>{_e(t["platform"])}</th><th>{_e(t["reason"])}</th></tr>'
    return _table(head, body)


def render_html(data: ReportData, lang: str) -> str:
    """The whole page as one string."""
    from ingestion.publish.report import peers as peer_report

    t = labels(lang)
    info = data.publish
    meta = f'{_e(t["data_through"])} <b data-as-of="{_e(_value(data.as_of))}">{_e(_value(data.as_of) or t["na"])}</b>'
    if info.get("published_at"):
        meta += f' · {_e(t["published"])} {_e(str(info["published_at"])[:16])}'
    sections = [
        ("kpis", t["kpis"], _kpis(data, t, lang)),
        ("growth", t["growth"], _growth(data, t, lang)),
        ("departments", t["departments"], _departments(data, t, lang)),
        ("trends", t["trends"], _trends(data, t, lang)),
        ("audience", t["audience"], _audience(data, t, lang)),
        ("accounts", t["accounts_ranked"],
         f'<div class="two"><div><h3>{_e(t["top_accounts"])}</h3>{_accounts_table(data.top_accounts, t, lang)}</div>'
         f'<div><h3>{_e(t["bottom_accounts"])}</h3>{_accounts_table(data.bottom_accounts, t, lang)}</div></div>'),
        ("posts", t["top_posts"], _posts(data, t, lang)),
        ("peers", peer_report.title(lang), peer_report.section(data.peers, lang)),
        ("attention", t["attention"], _attention(data, t, lang)),
    ]
    body = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{html}</section>' for key, title, html in sections)
    footer = t["footer"].format(publish_id=info.get("publish_id") or t["na"],
                                git_sha=(info.get("git_sha") or t["na"])[:12], tables=info.get("tables") or t["na"])
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(t["title"])} {_e(_value(data.as_of))}</title><style>{CSS}</style></head>'
        f'<body><main><header><h1>{_e(t["title"])}</h1><p class="meta">{meta}</p></header>{body}'
        f'<footer>{_e(footer)}</footer></main></body></html>'
    )
