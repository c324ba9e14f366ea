"""Report labels in Swedish and English, and number formatting per language."""

from __future__ import annotations

import math

LANGS = ("sv", "en")

LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Sociala medier – nattlig rapport",
        "data_through": "Data till och med",
        "published": "Publicerad",
        "kpis": "Organisationens nyckeltal",
        "total_followers": "Följare totalt",
        "net_followers_28d": "Nettoförändring följare, 28 dagar",
        "views_28d": "Visningar, 28 dagar",
        "engagements_28d": "Interaktioner, 28 dagar",
        "engagement_rate_28d": "Interaktionsgrad (per visning), 28 dagar",
        # Followers summed over the accounts, per 1,000 residents: a count of follows, not of people.
        "followers_per_1000": "Följningar per 1 000 invånare",
        "followers_per_1000_def": "Följare summerade över alla konton, per 1 000 invånare: den som följer "
                                  "flera konton räknas en gång per konto.",
        "accounts": "Konton",
        "estimated_share": "Andel uppskattade följartal",
        "growth": "Tillväxt per plattform",
        "followers_by_platform": "Följare per plattform och dag",
        "net_by_platform_week": "Nettoförändring följare per ISO-vecka och plattform",
        "departments": "Förvaltningar",
        "net_by_department": "Nettoförändring följare per förvaltning, senaste 28 dagarna",
        "trends": "Trender",
        "trend_chart": "Visningar och interaktioner per dag (7-dagars glidande medel)",
        "metric": "Mått",
        "wow": "Vecka mot vecka",
        "mom": "28 dagar mot föregående 28",
        "yoy": "År mot år (28 dagar)",
        "current": "Nu",
        "previous": "Föregående",
        "change": "Förändring",
        "audience": "Publik efter ålder jämfört med befolkningen",
        "audience_chart": "Andel av publiken och av befolkningen per åldersgrupp",
        "audience_share": "Publik",
        "population_share": "Befolkning",
        "accounts_ranked": "Bästa och sämsta konton",
        "top_accounts": "Högst tillväxt (28 dagar)",
        "bottom_accounts": "Lägst tillväxt (28 dagar)",
        "top_posts": "Populäraste inläggen",
        "attention": "Konton som behöver åtgärdas",
        "account": "Konto",
        "platform": "Plattform",
        "department": "Förvaltning",
        "followers": "Följare",
        "net_28d": "Netto 28 d",
        "net_followers": "Nettoförändring följare",
        "growth_28d": "Tillväxt 28 d",
        "views": "Visningar",
        "engagements": "Interaktioner",
        "engagement_rate": "Interaktionsgrad",
        "reason": "Orsak",
        "post": "Inlägg",
        "published_at": "Publicerat",
        "missing_mart": "Avsnittet visas när tabellen {mart} publiceras (finns inte i BI-kopian ännu).",
        "missing_columns": "Tabellen {mart} saknar kolumnerna {columns}; avsnittet visas inte.",
        "no_rows": "Inga rader.",
        "stale": "Inga data sedan {date}",
        "declining": "Tappar följare: {value} på 28 dagar",
        "anomaly": "Ovanlig dag {date}: netto {value} följare (normalt {mean} ± {sd})",
        "health": "Hälsa: {value}",
        "finding": "Datakvalitet: {value}",
        "nothing_to_fix": "Inget behöver åtgärdas.",
        "more": "… och {n} konton till (se BI-verktyget)",
        "estimated_note": "Uppskattade följartal (rekonstruerade bakåt) ingår och är markerade i tabellerna.",
        "footer": "Publicering {publish_id} · kod {git_sha} · {tables} tabeller",
        "day_note": "Dagar är plattformarnas egna dagar (Stillahavstid för Meta och YouTube); veckor är ISO-veckor.",
        "platform_facebook": "Facebook",
        "platform_instagram": "Instagram",
        "platform_youtube": "YouTube",
        "platform_snapchat": "Snapchat",
        "estimated": "uppskattat",
        "na": "–",
    },
    "en": {
        "title": "Social media – nightly report",
        "data_through": "Data through",
        "published": "Published",
        "kpis": "Organisation KPIs",
        "total_followers": "Total followers",
        "net_followers_28d": "Net follower change, 28 days",
        "views_28d": "Views, 28 days",
        "engagements_28d": "Engagements, 28 days",
        "engagement_rate_28d": "Engagement rate (by views), 28 days",
        "followers_per_1000": "Follows per 1,000 residents",
        "followers_per_1000_def": "Followers summed over all accounts, per 1,000 residents: someone who "
                                  "follows several accounts counts once per account.",
        "accounts": "Accounts",
        "estimated_share": "Share of estimated follower totals",
        "growth": "Growth per platform",
        "followers_by_platform": "Followers per platform and day",
        "net_by_platform_week": "Net follower change per ISO week and platform",
        "departments": "Departments",
        "net_by_department": "Net follower change per department, last 28 days",
        "trends": "Trends",
        "trend_chart": "Views and engagements per day (7-day rolling mean)",
        "metric": "Metric",
        "wow": "Week over week",
        "mom": "28 days over previous 28",
        "yoy": "Year over year (28 days)",
        "current": "Current",
        "previous": "Previous",
        "change": "Change",
        "audience": "Audience by age versus population",
        "audience_chart": "Share of audience and of population per age group",
        "audience_share": "Audience",
        "population_share": "Population",
        "accounts_ranked": "Top and bottom accounts",
        "top_accounts": "Highest growth (28 days)",
        "bottom_accounts": "Lowest growth (28 days)",
        "top_posts": "Top posts",
        "attention": "Accounts needing attention",
        "account": "Account",
        "platform": "Platform",
        "department": "Department",
        "followers": "Followers",
        "net_28d": "Net 28 d",
        "net_followers": "Net follower change",
        "growth_28d": "Growth 28 d",
        "views": "Views",
        "engagements": "Engagements",
        "engagement_rate": "Engagement rate",
        "reason": "Reason",
        "post": "Post",
        "published_at": "Published",
        "missing_mart": "This section appears once the table {mart} is published (not in the BI copy yet).",
        "missing_columns": "The table {mart} lacks the columns {columns}; section not shown.",
        "no_rows": "No rows.",
        "stale": "No data since {date}",
        "declining": "Losing followers: {value} in 28 days",
        "anomaly": "Unusual day {date}: net {value} followers (usually {mean} ± {sd})",
        "health": "Health: {value}",
        "finding": "Data quality: {value}",
        "nothing_to_fix": "Nothing needs fixing.",
        "more": "… and {n} more accounts (see the BI tool)",
        "estimated_note": "Estimated follower totals (reconstructed backwards) are included and flagged in the tables.",
        "footer": "Publish {publish_id} · code {git_sha} · {tables} tables",
        "day_note": "Days are the platforms' own days (Pacific time for Meta and YouTube); weeks are ISO weeks.",
        "platform_facebook": "Facebook",
        "platform_instagram": "Instagram",
        "platform_youtube": "YouTube",
        "platform_snapchat": "Snapchat",
        "estimated": "estimated",
        "na": "–",
    },
}


def labels(lang: str) -> dict[str, str]:
    """Labels of one language; raises ValueError for an unknown one."""
    if lang not in LABELS:
        raise ValueError(f"unknown report language {lang!r}; choose one of {', '.join(LANGS)}")
    return LABELS[lang]


def fmt_int(value: float | int | None, lang: str) -> str:
    """12 345 (sv, narrow no-break space) / 12,345 (en); a dash for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return LABELS[lang]["na"]
    text = f"{round(value):,}"
    return text.replace(",", "\u202f").replace("-", "\u2212") if lang == "sv" else text


def fmt_pct(value: float | None, lang: str, digits: int = 1, signed: bool = False) -> str:
    """A ratio as a percentage: 0.0123 -> 1,2 % (sv) / 1.2% (en)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return LABELS[lang]["na"]
    text = f"{value * 100:+.{digits}f}" if signed else f"{value * 100:.{digits}f}"
    if lang == "sv":
        return text.replace(".", ",").replace("-", "\u2212") + "\u00a0%"
    return text + "%"


def fmt_num(value: float | None, lang: str, digits: int = 1) -> str:
    """A decimal number: 3,5 (sv) / 3.5 (en)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return LABELS[lang]["na"]
    text = f"{value:.{digits}f}"
    return text.replace(".", ",").replace("-", "\u2212") if lang == "sv" else text
