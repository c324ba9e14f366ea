"""The report's "compared with peers" section (issue 22), from `marts.fct_peer_comparison_daily`.

A module of its own so the peer comparison can grow without touching the other sections: `rows`
reads the latest snapshot day of the published copy, `section` renders it. Without peers in the
registry (or before the first peer snapshot) the section says so in one line instead of a table.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ingestion.core.platforms import PEERS
from ingestion.publish.report.i18n import fmt_int, fmt_num, fmt_pct
from ingestion.publish.report.reader import BICopy, Missing

COMPARISON = "fct_peer_comparison_daily"
COLUMNS = ("organisation_name", "platform", "snapshot_date", "is_own", "followers", "followers_change_28d",
           "followers_growth_pct_28d", "followers_per_1000_residents", "rank_followers",
           "rank_followers_per_1000", "organisations_compared", "accounts_hidden",
           "posts_per_week_28d", "interactions_per_post_28d")
PLATFORM_ORDER = ("all", *PEERS)

# One row per label: (Swedish, English); the report picks a column by language.
_PAIRS: dict[str, tuple[str, str]] = {
    "title": ("Jämfört med andra", "Compared with peers"),
    "none": (
        "Ingen jämförelse ännu: den kräver peers: i registret och en nattlig mätning (docs/peers.md).",
        "No comparison yet: it needs peers: in the registry and one nightly snapshot (docs/peers.md).",
    ),
    "as_of": (
        "Offentliga siffror per {date}, samma mätsätt för oss och för de andra.",
        "Public counts as of {date}, measured the same way for us and for the others.",
    ),
    "organisation": ("Organisation", "Organisation"),
    "followers": ("Följare", "Followers"),
    "per_1000": ("Per 1 000 inv.", "Per 1,000 res."),
    "rank": ("Plats", "Rank"),
    "change_28d": ("Förändring 28 dagar", "Change, 28 days"),
    "posts_week": ("Inlägg/vecka (IG)", "Posts/week (IG)"),
    "per_post": ("Interaktioner/inlägg (IG)", "Interactions/post (IG)"),
    "all": ("Alla plattformar", "All platforms"),
    "facebook": ("Facebook", "Facebook"),
    "instagram": ("Instagram", "Instagram"),
    "youtube": ("YouTube", "YouTube"),
    "own": ("(vi)", "(us)"),
    "limits": (
        "Avrundade YouTube-siffror (3 värdesiffror), dolda räknas inte; bara nuvarande värden, historiken "
        "börjar med första mätningen.",
        "Rounded YouTube counts (3 significant figures), hidden ones left out; current values only, history "
        "starts with the first snapshot.",
    ),
}
LABELS = {lang: {key: pair[i] for key, pair in _PAIRS.items()} for i, lang in enumerate(("sv", "en"))}


def title(lang: str) -> str:
    """The section heading."""
    return LABELS.get(lang, LABELS["en"])["title"]


def rows(bi: BICopy) -> list[dict[str, Any]] | Missing:
    """The comparison rows of the latest snapshot day (empty list: no peers yet)."""
    missing = bi.missing(COMPARISON, *COLUMNS)
    if missing is not None:
        return missing
    return bi.rows(
        f"select {', '.join(COLUMNS)} from marts.{COMPARISON} "
        f"where snapshot_date = (select max(snapshot_date) from marts.{COMPARISON}) "
        "order by platform, rank_followers nulls last, organisation_name"
    )


def _ratio(percent: Any) -> float | None:
    """The marts store growth in % (3 decimals); the formatter takes a ratio."""
    return None if percent is None else float(percent) / 100


def _rank(rank: Any, of: Any) -> str:
    return f"{rank}/{of}" if rank is not None else "–"


def section(data: list[dict[str, Any]] | Missing | None, lang: str) -> str:
    """The section body: one table per platform ('all' first), our row marked."""
    t = LABELS.get(lang, LABELS["en"])
    if isinstance(data, Missing) or not data or not any(not r["is_own"] for r in data):
        return f'<p class="missing" data-peers="none">{escape(t["none"])}</p>'
    html = f'<p class="note">{escape(t["as_of"].format(date=data[0]["snapshot_date"]))}</p>'
    for platform in PLATFORM_ORDER:
        mine = [r for r in data if r["platform"] == platform]
        if not mine:
            continue
        ig = platform in ("instagram", "all")
        head = (f'<tr><th>{escape(t["organisation"])}</th><th class="num">{escape(t["followers"])}</th>'
                f'<th class="num">{escape(t["rank"])}</th><th class="num">{escape(t["per_1000"])}</th>'
                f'<th class="num">{escape(t["rank"])}</th><th class="num">{escape(t["change_28d"])}</th>'
                + (f'<th class="num">{escape(t["posts_week"])}</th><th class="num">{escape(t["per_post"])}</th>'
                   if ig else "") + "</tr>")
        body = ""
        for r in mine:
            name = escape(r["organisation_name"]) + (f' <b>{escape(t["own"])}</b>' if r["is_own"] else "")
            body += (
                f'<tr data-peer="{escape(r["organisation_name"])}" data-platform="{platform}" '
                f'data-rank="{r["rank_followers"] if r["rank_followers"] is not None else ""}"'
                f'{" data-own=1" if r["is_own"] else ""}>'
                f'<td>{name}</td><td class="num">{fmt_int(r["followers"], lang)}</td>'
                f'<td class="num">{_rank(r["rank_followers"], r["organisations_compared"])}</td>'
                f'<td class="num">{fmt_num(r["followers_per_1000_residents"], lang)}</td>'
                f'<td class="num">{_rank(r["rank_followers_per_1000"], r["organisations_compared"])}</td>'
                f'<td class="num">{fmt_pct(_ratio(r["followers_growth_pct_28d"]), lang, 1, True)}</td>'
                + (f'<td class="num">{fmt_num(r["posts_per_week_28d"], lang)}</td>'
                   f'<td class="num">{fmt_num(r["interactions_per_post_28d"], lang)}</td>' if ig else "")
                + "</tr>")
        html += f'<h3>{escape(t[platform])}</h3><table><thead>{head}</thead><tbody>{body}</tbody></table>'
    return html + f'<p class="note">{escape(t["limits"])}</p>'
