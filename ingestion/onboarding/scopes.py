"""Which permissions (Meta) and OAuth scopes (Google) each endpoint the pipeline calls needs.

One table, used by `doctor` (granted scopes vs needed scopes), by `discover` (what listing needs)
and quoted by docs/setup-meta.md and docs/setup-youtube.md. Sources: PLATFORM_APIS.md §2.1
(Pages), §3.1 (Instagram with Facebook Login), §5.2 (YouTube Analytics: the reference now also
requires youtube.readonly).
"""

from __future__ import annotations

from dataclasses import dataclass

YT_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
YT_ANALYTICS_READONLY = "https://www.googleapis.com/auth/yt-analytics.readonly"
YOUTUBE_SCOPES: tuple[str, ...] = (YT_READONLY, YT_ANALYTICS_READONLY)


@dataclass(frozen=True)
class ScopeNeed:
    """The permissions one kind of call needs, and why it is made."""

    platform: str  # facebook | instagram | youtube | discovery
    endpoint: str  # the RequestSpec.endpoint of ingestion.sources, or a discovery call
    scopes: tuple[str, ...]
    why: str


SCOPE_NEEDS: tuple[ScopeNeed, ...] = (
    # Facebook Pages (Page or system-user token; the person/system user needs the ANALYZE task).
    ScopeNeed("facebook", "node", ("pages_read_engagement",), "Page name and follower snapshot"),
    ScopeNeed("facebook", "insights", ("read_insights", "pages_read_engagement"), "daily Page insights"),
    ScopeNeed("facebook", "demographics", ("read_insights", "pages_read_engagement"), "followers by city/country"),
    ScopeNeed("facebook", "posts", ("pages_read_engagement",), "published posts"),
    ScopeNeed("facebook", "post_insights", ("read_insights",), "lifetime post insights"),
    # Instagram professional accounts through Facebook Login (graph.facebook.com).
    ScopeNeed("instagram", "node", ("instagram_basic", "pages_read_engagement"), "account follower snapshot"),
    ScopeNeed("instagram", "insights", ("instagram_manage_insights", "pages_read_engagement"),
              "daily account insights"),
    ScopeNeed("instagram", "demographics", ("instagram_manage_insights",), "follower age/gender/city"),
    ScopeNeed("instagram", "media", ("instagram_basic",), "published media"),
    ScopeNeed("instagram", "media_insights", ("instagram_manage_insights",), "lifetime media insights"),
    # YouTube (OAuth by the channel owner or a manager of the brand channel).
    ScopeNeed("youtube", "node", (YT_READONLY,), "channel statistics (Data API channels.list)"),
    ScopeNeed("youtube", "analytics", (YT_ANALYTICS_READONLY, YT_READONLY), "daily channel report (Analytics API)"),
    ScopeNeed("youtube", "demographics", (YT_ANALYTICS_READONLY, YT_READONLY), "viewer age/gender"),
    # Discovery (`socialpulse accounts discover`), not needed by the nightly run.
    ScopeNeed("discovery", "me_accounts", ("pages_show_list",), "list the Pages the token can read"),
    ScopeNeed("discovery", "me_accounts_business", ("business_management",),
              "list Pages owned by a Business portfolio (/me/accounts omits them without it)"),
    ScopeNeed("discovery", "youtube_mine", (YT_READONLY,), "list the channels the credentials own"),
)

# What to tick when generating the system-user token (docs/setup-meta.md): the nightly run's needs
# plus the two discovery permissions.
META_RECOMMENDED_SCOPES: tuple[str, ...] = (
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_manage_insights",
    "business_management",
)


def needed_scopes(platforms: set[str] | frozenset[str], *, endpoints: set[str] | None = None) -> dict[str, list[str]]:
    """Scope -> the calls that need it, for the given platforms (optionally only some endpoints)."""
    out: dict[str, list[str]] = {}
    for need in SCOPE_NEEDS:
        if need.platform not in platforms or (endpoints is not None and need.endpoint not in endpoints):
            continue
        for scope in need.scopes:
            out.setdefault(scope, []).append(f"{need.platform} {need.endpoint} ({need.why})")
    return out


def missing_scopes(granted: set[str] | frozenset[str], platforms: set[str] | frozenset[str]) -> dict[str, list[str]]:
    """Needed scopes the token lacks -> the calls that will fail without them."""
    return {scope: calls for scope, calls in needed_scopes(platforms).items() if scope not in granted}


def scope_label(scope: str) -> str:
    """A short label for a Google scope URL (Meta permission names are already short)."""
    return scope.rsplit("/", 1)[-1]
