"""The Graph emulator's nodes and edges: Pages, Instagram users, /me/accounts, posts and media.

A mixin of `sandbox.graph.GraphApp` (it uses the app's config, clock and faults): split out so each
file has one job; the router stays in `sandbox.graph`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from sandbox import content as C
from sandbox import data as D
from sandbox import graph_helpers as H
from sandbox.catalogue import (
    ACCOUNTS_EDGE_EXTRA_FIELDS,
    IG_FIELDS,
    MEDIA_FIELDS,
    PAGE_FIELDS,
    POST_FIELDS,
)
from sandbox.graph_helpers import (
    Target,
)
from sandbox.tokens import (
    PAGE_TOKEN_PREFIX,
    derived_token,
)
from sandbox.wire import GraphError, parse_fields


class GraphNodes:
    """Node and edge bodies of the Graph API (fields, cursor paging)."""

    def _snapshot_day(self) -> date:
        # The nightly snapshot runs right after the Pacific day closes: it sees day today-1.
        return self.today() - timedelta(days=1)

    def _page_node(self, index: int, fields: list[tuple[str, str | None]], allowed: frozenset) -> dict:
        seed = self.config.seed
        page_id = D.facebook_page_id(index)
        ident = D.account_identity(seed, index)

        def followers() -> int:
            return D.followers_at(seed, "facebook", page_id, self._snapshot_day())

        def talking_about() -> int:
            end = self._snapshot_day()
            start = max(D.EPOCH, end - timedelta(days=6))
            if end < start:
                return 0
            s = D.daily_series(seed, "facebook", page_id, start, end)
            return int(s["accounts_engaged"].sum() // 2)

        values: dict[str, Callable[[], Any]] = {
            "id": lambda: page_id,
            "name": lambda: ident["name"],
            "username": lambda: ident["username"],
            "link": lambda: f"https://www.facebook.com/{ident['username']}",
            "category": lambda: "Government organization",
            "category_list": lambda: [{"id": "2235", "name": "Government organization"}],
            "about": lambda: f"{ident['department']} i Sandviks kommun.",
            "website": lambda: f"https://www.sandvik.example/{ident['username']}",
            "followers_count": followers,
            "fan_count": lambda: int(followers() * D.cached_profile(seed, "facebook", page_id)["fan_ratio"]),
            "talking_about_count": talking_about,
            "tasks": lambda: ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            # A page token derived from the page id: never the caller's token.
            "access_token": lambda: f"{PAGE_TOKEN_PREFIX}{page_id}",
        }
        out: dict[str, Any] = {}
        for name, sub in fields:
            if name not in allowed:
                raise H.nonexisting_field(name, "Page")
            if name == "instagram_business_account":
                out[name] = self.ig_node(index, parse_fields(sub, "id"))
            else:
                out[name] = values[name]()
        return out

    def ig_node(self, index: int, fields: list[tuple[str, str | None]]) -> dict:
        seed = self.config.seed
        ig_id = D.instagram_user_id(index)
        ident = D.account_identity(seed, index)

        values: dict[str, Callable[[], Any]] = {
            "id": lambda: ig_id,
            "ig_id": lambda: int(ig_id) - D.INSTAGRAM_ID_BASE + 4_000_000_000,
            "username": lambda: ident["username"],
            "name": lambda: ident["name"],
            "biography": lambda: f"{ident['department']} i Sandviks kommun.",
            "website": lambda: f"https://www.sandvik.example/{ident['username']}",
            "profile_picture_url": lambda: f"https://cdn.sandvik.example/ig/{ig_id}.jpg",
            "followers_count": lambda: D.followers_at(seed, "instagram", ig_id, self._snapshot_day()),
            "follows_count": lambda: D.cached_profile(seed, "instagram", ig_id)["follows_count"],
            # Equals the number of items /media lists (FEED + REELS published so far).
            "media_count": lambda: C.count_posts(seed, "instagram", ig_id, int(self.now_ts())),
        }
        return H.pick(fields, IG_FIELDS, "IGUser", lambda name: values[name]())

    def _me_accounts(self, query: dict[str, str], version: str, base_url: str, token: str) -> dict:
        fields = parse_fields(query.get("fields"), "id,name,category,tasks")
        allowed = PAGE_FIELDS | ACCOUNTS_EDGE_EXTRA_FIELDS
        for name, _ in fields:
            if name not in allowed:
                raise H.nonexisting_field(name, "Page")
        raw_limit = query.get("limit", "25")
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise GraphError("(#100) Param limit must be a positive integer", 100)
        limit = min(int(raw_limit), 100)
        total = self.config.accounts
        if "after" in query:
            start = H.decode_cursor(query["after"]) + 1
        elif "before" in query:
            start = max(0, H.decode_cursor(query["before"]) - limit)
        else:
            start = 0
        stop = min(total, start + limit)
        rows = [self._page_node(i + 1, fields, allowed) for i in range(start, stop)]
        for row in rows:
            if "access_token" in row:
                # Page tokens are derived from the page and the caller's token, never equal to it.
                row["access_token"] = f"{PAGE_TOKEN_PREFIX}{row.get('id') or ''}-" + derived_token("", token)[:16]
        body: dict[str, Any] = {"data": rows}
        if not rows:
            return body
        paging: dict[str, Any] = {"cursors": {"before": H.encode_cursor(start), "after": H.encode_cursor(stop - 1)}}
        base = f"{base_url}/graph/{version}/me/accounts?"
        common = [("fields", query.get("fields") or "id,name,category,tasks"), ("limit", limit)]
        if start > 0:
            paging["previous"] = base + urlencode([*common, ("before", H.encode_cursor(start))])
        if stop < total:
            paging["next"] = base + urlencode([*common, ("after", H.encode_cursor(stop - 1))])
        body["paging"] = paging
        return body

    # -- posts and media --------------------------------------------------------------------------

    def _content_edge(self, target: Target, edge: str, query: dict[str, str], version: str, base_url: str) -> dict:
        """``/{page}/published_posts`` (also ``/posts``, ``/feed``), ``/{ig}/media``, ``/{ig}/stories``:
        newest first, cursor paging (``paging.cursors.before/after``, ``next`` only while more)."""
        seed = self.config.seed
        now = int(self.now_ts())
        if target.kind == "page":
            kinds, default_fields, node = frozenset({"post"}), "id,message,created_time", self._post_node
        elif edge == "media":
            kinds, default_fields, node = frozenset({"FEED", "REELS"}), "id", self._media_node
        else:
            kinds, default_fields, node = frozenset({"STORY"}), "id", self._media_node
        fields = parse_fields(query.get("fields"), default_fields)
        node_type, allowed = ("PagePost", POST_FIELDS) if target.kind == "page" else ("ShadowIGMedia", MEDIA_FIELDS)
        for name, _ in fields:
            if name not in allowed:
                raise H.nonexisting_field(name, node_type)
        raw_limit = query.get("limit", "25")
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise GraphError("(#100) Param limit must be a positive integer", 100)
        limit = min(int(raw_limit), 100)
        since = H.parse_time(query, "since") if query.get("since") else None
        until = H.parse_time(query, "until") if query.get("until") else None
        newest = min(now, until) if until is not None else now

        def stream(before: tuple[int, int] | None) -> Iterator[C.Item]:
            for item in C.iter_newest_first(seed, target.platform, target.account_id, before, newest, kinds):
                if since is not None and item.ts < since:
                    return
                if edge == "stories" and now - item.ts >= C.STORY_LIFETIME_S:
                    return
                yield item

        if "before" in query:
            pos = H.decode_position(query["before"])
            newer = [it for it in stream(None) if (it.day_index, it.k) > pos]
            page_items = newer[-limit:]
            has_more = True  # the page we came from is older
            has_newer = len(newer) > limit
        else:
            after = H.decode_position(query["after"]) if "after" in query else None
            page_items = list(islice(stream(after), limit + 1))
            has_more = len(page_items) > limit
            page_items = page_items[:limit]
            has_newer = after is not None
        body: dict[str, Any] = {"data": [node(item, fields) for item in page_items]}
        if not page_items:
            return body
        first, last = page_items[0], page_items[-1]
        cursors = {"before": H.encode_position(first), "after": H.encode_position(last)}
        paging: dict[str, Any] = {"cursors": cursors}
        params: list[tuple[str, Any]] = [("fields", query.get("fields") or default_fields), ("limit", limit)]
        for name in ("since", "until"):
            if query.get(name):
                params.append((name, query[name]))
        base = f"{base_url}/graph/{version}/{target.account_id}/{edge}?"
        if has_more:
            paging["next"] = base + urlencode([*params, ("after", cursors["after"])])
        if has_newer:
            paging["previous"] = base + urlencode([*params, ("before", cursors["before"])])
        body["paging"] = paging
        return body

    def _post_node(self, item: C.Item | None, fields: list[tuple[str, str | None]]) -> dict:
        assert item is not None
        pid = C.post_id(item)
        number = pid.split("_", 1)[1]
        photo = f"https://scontent.sandvik.example/{pid}.jpg"
        values: dict[str, Callable[[], Any]] = {
            "id": lambda: pid,
            "message": lambda: C.message(item, self.config.seed),
            "created_time": lambda: H.graph_time(item.ts),
            "updated_time": lambda: H.graph_time(item.ts + 120),
            "permalink_url": lambda: f"https://www.facebook.com/{item.account_id}/posts/{number}",
            "status_type": lambda: item.media_type,
            "full_picture": lambda: photo,
            "is_published": lambda: True,
            "attachments": lambda: {
                "data": [
                    {
                        "media_type": {"added_photos": "photo", "added_video": "video", "shared_story": "link"}.get(
                            item.media_type, "status"
                        ),
                        "type": {"added_photos": "photo", "added_video": "video_inline", "shared_story": "share"}.get(
                            item.media_type, "status"
                        ),
                        "url": f"https://www.facebook.com/{item.account_id}/posts/{number}",
                    }
                ]
            },
        }
        return H.pick(fields, POST_FIELDS, "PagePost", lambda name: values[name]())

    def _media_node(self, item: C.Item | None, fields: list[tuple[str, str | None]]) -> dict:
        assert item is not None
        mid = C.media_id(item)
        now = self.now_ts()
        current = C.values_at(item, now)
        i = D.account_index("instagram", item.account_id) or 1
        ident = D.account_identity(self.config.seed, i)
        kind = "reel" if item.kind == "REELS" else ("stories" if item.kind == "STORY" else "p")
        values: dict[str, Callable[[], Any]] = {
            "id": lambda: mid,
            "caption": lambda: C.message(item, self.config.seed),
            "media_type": lambda: item.media_type,
            "media_product_type": lambda: item.kind,
            "timestamp": lambda: H.graph_time(item.ts),
            "permalink": lambda: f"https://www.instagram.com/{kind}/{C.shortcode(item)}/",
            "like_count": lambda: current.get("likes", 0),
            "comments_count": lambda: current.get("comments", 0),
            "username": lambda: ident["username"],
            "shortcode": lambda: C.shortcode(item),
            "media_url": lambda: f"https://cdn.sandvik.example/ig/{mid}.mp4"
            if item.media_type == "VIDEO" else f"https://cdn.sandvik.example/ig/{mid}.jpg",
            "thumbnail_url": lambda: f"https://cdn.sandvik.example/ig/{mid}_thumb.jpg",
            "is_comment_enabled": lambda: item.kind != "STORY",
        }
        out: dict[str, Any] = {}
        for name, _ in fields:
            if name not in MEDIA_FIELDS:
                raise H.nonexisting_field(name, "ShadowIGMedia")
            if name == "caption" and item.kind == "STORY":
                continue  # stories have no caption
            out[name] = values[name]()
        return out
