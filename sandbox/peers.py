"""Peer organisations' public accounts: Instagram business discovery, public Page fields, public
YouTube channel statistics (issue 22), with their ground truth per night.

Why a generated world instead of a fixed list: the registry's `peers:` section is edited by users,
and the sandbox must answer for whatever they list, the same way every time (seeded by the sandbox
seed and the account's public reference), so the ground truth is a pure function that tests can call.

What is served (PLATFORM_APIS §2.2, §3.2, §5 and issue 22):

* Instagram: ``GET /{own-ig-user-id}?fields=business_discovery.username(<name>){followers_count,
  media_count,media.limit(n){id,like_count,comments_count,timestamp,media_product_type}}`` on one
  of the organisation's own IG users (any token with ``instagram_basic`` may ask). Every username
  is a professional account except three reserved prefixes, which model the documented failures:
  ``renamed_*`` (the account has been renamed since the registry was written), ``private_*`` (a
  personal / private account, not professional) and ``agegated_*`` (age-gated accounts are never
  returned). All three answer code 110, subcode 2207013 "cannot be found" (the public API does not
  say which; wording UNVERIFIED). Counts are current values: ``followers_count`` is the total at
  the end of the last complete Pacific day (like the own accounts' snapshot), media are published
  at a fixed per-account rhythm and their likes/comments grow over their first three days.
* Facebook: public Page fields (``id,name,link,followers_count,fan_count``) of other Pages, ids
  300000000000000..399999999999999. They need the app feature "Page Public Metadata Access": a
  token containing ``nopagefeature`` answers the real code-10 refusal. Ids 400000000000000..
  499999999999999 are Pages that are not public (unpublished / restricted): code 100, subcode 33.
* YouTube: ``channels.list?part=statistics,snippet`` with ``id=UCpeer...`` (comma list) or
  ``forHandle=@name`` (any handle not starting ``@renamed``, which finds nothing -- empty items, as
  YouTube answers an unknown handle). ``subscriberCount`` is rounded to three significant figures
  (``sandbox.youtube.round_subscribers``); about one channel in four hides it
  (``hiddenSubscriberCount: true``, no ``subscriberCount``). Each call costs one quota unit.

Own and peer ids never overlap: own Pages are 1000000000000NN, own channels are not ``UCpeer...``.
A channels.list call mixing own and peer ids is answered by the peer side for the peer ids only
(ASSUMED unused: the pipeline lists peers in their own calls).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.wire import GraphError, GraphResponse, parse_fields

if TYPE_CHECKING:
    from sandbox.host import Host

PEER_PAGE_MIN, PEER_PAGE_MAX = 300_000_000_000_000, 399_999_999_999_999
HIDDEN_PAGE_MIN, HIDDEN_PAGE_MAX = 400_000_000_000_000, 499_999_999_999_999
PEER_CHANNEL_PREFIX = "UCpeer"
IG_NOT_FOUND_PREFIXES = ("renamed_", "private_", "agegated_")
MEDIA_LIMIT_MAX = 100  # UNVERIFIED for business discovery; the media edge's documented page maximum
MISSING_FEATURE = (
    "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Metadata "
    "Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages "
    "and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS for details."
)
PAGE_PUBLIC_FIELDS = frozenset({"id", "name", "link", "username", "followers_count", "fan_count"})
BD_FIELDS = frozenset({"id", "username", "name", "followers_count", "follows_count", "media_count", "media"})
BD_MEDIA_FIELDS = frozenset({"id", "like_count", "comments_count", "timestamp", "media_product_type", "media_type"})
_FIRST_POST = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------
# The generated world (pure functions of seed and reference)
# ------------------------------------------------------------------------------------------------


def _h(seed: int, *parts: object) -> int:
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _profile(seed: int, platform: str, ref: str) -> dict[str, int]:
    """Level, daily trend and posting rhythm of one peer account (ref case-folded)."""
    h = _h(seed, "peer", platform, ref.lower())
    scale = {"facebook": 30_000, "instagram": 9_000, "youtube": 4_000}[platform]
    return {
        "base": 400 + h % scale,
        "trend": (h >> 20) % 13 - 3,  # followers per day: -3..+9
        "post_every_h": 18 + (h >> 30) % 90,  # one post every 18..107 hours
        "offset_h": (h >> 40) % 24,
        "hidden": int((h >> 50) % 4 == 0),
    }


def snapshot_day(now: datetime) -> date:
    """The day a snapshot taken at `now` describes: the last complete Pacific day."""
    return PT.pacific_date(now) - timedelta(days=1)


def followers_on(seed: int, platform: str, ref: str, day: date) -> int:
    """True followers (subscribers) of a peer account at the end of `day`: a trend plus a small
    deterministic wobble, so growth is neither constant nor monotone."""
    prof = _profile(seed, platform, ref)
    n = (day - D.EPOCH).days
    wobble = _h(seed, "wobble", platform, ref.lower(), day.isoformat()) % 11 - 5
    return max(0, prof["base"] + prof["trend"] * n + wobble)


def _post_times(seed: int, ref: str, now: datetime) -> tuple[int, int, int]:
    """(count of posts published up to `now`, first post's epoch seconds, seconds between posts)."""
    prof = _profile(seed, "instagram", ref)
    step = prof["post_every_h"] * 3600
    first = int(_FIRST_POST.timestamp()) + prof["offset_h"] * 3600
    elapsed = int(now.timestamp()) - first
    return (elapsed // step + 1 if elapsed >= 0 else 0), first, step


def recent_media(seed: int, ref: str, now: datetime, limit: int) -> list[dict[str, Any]]:
    """The `limit` newest media at `now`, newest first, with likes and comments as seen at `now`."""
    count, first, step = _post_times(seed, ref, now)
    out = []
    for k in range(count - 1, max(-1, count - 1 - limit), -1):
        ts = first + k * step
        age_h = (now.timestamp() - ts) / 3600
        ripe = min(1.0, age_h / 72)
        hk = _h(seed, "media", ref.lower(), k)
        likes_final = 20 + hk % 400
        comments_final = (hk >> 16) % 25
        out.append({
            "id": str(18_000_000_000_000_000 + (_h(seed, "mid", ref.lower()) % 10**9) * 1000 + k % 1000),
            "like_count": int(likes_final * ripe),
            "comments_count": int(comments_final * ripe),
            "timestamp": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "media_product_type": "REELS" if hk % 3 == 0 else "FEED",
            "media_type": "VIDEO" if hk % 3 == 0 else ("CAROUSEL_ALBUM" if hk % 3 == 1 else "IMAGE"),
        })
    return out


def _display(ref: str) -> str:
    return ref.lstrip("@").replace("_", " ").replace(".", " ").title()


def channel_id_for(seed: int, ref: str) -> str | None:
    """The channel id a peer reference (id or @handle) resolves to; None when nothing is found."""
    if ref.startswith(PEER_CHANNEL_PREFIX):
        return ref if len(ref) == 24 else None
    if ref.startswith("@") and not ref.lower().startswith("@renamed"):
        digest = hashlib.blake2b(ref.lower().encode(), digest_size=15).digest()
        return PEER_CHANNEL_PREFIX + base64.urlsafe_b64encode(digest).decode()[:18]
    return None


def peer_truth(seed: int, platform: str, ref: str, now: datetime, media_limit: int = 25) -> dict[str, Any]:
    """What a snapshot of one peer account taken at `now` must record (tests compare marts to this).

    `status` is "ok" or the reason nothing can be read ("not_found", "not_public"); counts are the
    true values; `subscriber_count` is the public, rounded one (None when hidden).
    """
    from sandbox.youtube import round_subscribers

    day = snapshot_day(now)
    out: dict[str, Any] = {"platform": platform, "ref": ref, "snapshot_date": day, "status": "ok"}
    if platform == "instagram":
        if ref.lower().startswith(IG_NOT_FOUND_PREFIXES):
            out["status"] = "not_found"
            if ref.lower().startswith("renamed_"):
                out["renamed_to"] = ref[len("renamed_"):]
            return out
        media = recent_media(seed, ref, now, media_limit)
        out.update(followers=followers_on(seed, platform, ref, day),
                   media_count=_post_times(seed, ref, now)[0], media=media)
    elif platform == "facebook":
        if not PEER_PAGE_MIN <= int(ref) <= PEER_PAGE_MAX:
            out["status"] = "not_public"
            return out
        followers = followers_on(seed, platform, ref, day)
        out.update(followers=followers, fan_count=int(followers * 0.92))
    else:
        channel = channel_id_for(seed, ref)
        if channel is None:
            out["status"] = "not_found"
            return out
        subscribers = followers_on(seed, platform, channel, day)
        hidden = bool(_profile(seed, "youtube", channel)["hidden"])
        out.update(channel_id=channel, followers=subscribers, hidden=hidden,
                   subscriber_count=None if hidden else round_subscribers(subscribers))
    return out


# ------------------------------------------------------------------------------------------------
# Request handling (hooked into Host._route and Host.handle)
# ------------------------------------------------------------------------------------------------


def _parse_call(text: str) -> tuple[str, str | None, str | None]:
    """``name.username(x){sub}`` / ``media.limit(5){sub}`` -> (name, argument, sub-fields)."""
    head, brace, sub = text.partition("{")
    sub_fields = sub[:-1] if brace and sub.endswith("}") else None
    name, _, call = head.partition(".")
    arg = None
    if call:
        _modifier, _, rest = call.partition("(")
        arg = rest[:-1] if rest.endswith(")") else rest
    return name.strip(), arg, sub_fields


class PeerApp:
    """The peer surface; shares clock, auth, faults, rate limits and quota with ``Host``."""

    def __init__(self, app: Host) -> None:
        self.app = app

    @property
    def seed(self) -> int:
        return self.app.config.seed

    # -- Graph ------------------------------------------------------------------------------------

    def route(self, obj: str, rest: list[str], target: Any, query: dict[str, str], token: str) -> dict | None:
        """Answer a peer request inside ``Host._route``; None when the request is not one."""

        if rest:
            return None
        if target is not None and target.kind == "ig":
            raw = query.get("fields") or ""
            if "business_discovery" not in raw:
                return None
            self.app.require(token, "instagram_basic")
            out: dict[str, Any] = {}
            for name, sub in parse_fields(raw, "id"):
                field, arg, sub_fields = _parse_call(name + ("{" + sub + "}" if sub is not None else ""))
                if field == "business_discovery":
                    out[field] = self._business_discovery(arg or "", sub_fields or "id")
                elif field in ("id", "username"):
                    out.update(self.app.ig_node(target.index, [(field, None)]))
                else:
                    raise GraphError(f"(#100) Tried accessing nonexisting field ({field}) on node type (IGUser)", 100)
            return out
        if target is None and obj.isdigit() and PEER_PAGE_MIN <= int(obj) <= HIDDEN_PAGE_MAX:
            return self._page(obj, query, token)
        return None

    def _business_discovery(self, username: str, sub_fields: str) -> dict:

        if not username:
            raise GraphError("(#100) business_discovery needs username(<name>)", 100)  # UNVERIFIED wording
        now = self.app.clock()
        truth = peer_truth(self.seed, "instagram", username, now, media_limit=0)
        if truth["status"] != "ok":
            raise GraphError(f"Invalid user id: the user with username: {username} cannot be found.", 110,
                             subcode=2207013)
        out: dict[str, Any] = {}
        for name, sub in parse_fields(sub_fields, "id"):
            field, arg, media_fields = _parse_call(name + ("{" + sub + "}" if sub is not None else ""))
            if field not in BD_FIELDS:
                raise GraphError(f"(#100) Tried accessing nonexisting field ({field}) on node type (IGUser)", 100)
            if field == "media":
                limit = min(int(arg) if arg and arg.isdigit() else 25, MEDIA_LIMIT_MAX)
                wanted = [f for f, _ in parse_fields(media_fields, "id")]
                for f in wanted:
                    if f not in BD_MEDIA_FIELDS:
                        raise GraphError(f"(#100) Tried accessing nonexisting field ({f}) on node type (IGMedia)", 100)
                items = recent_media(self.seed, username, now, limit)
                out["media"] = {"data": [{f: m[f] for f in [*wanted, "id"]} for m in items]}
                continue
            out[field] = {
                "id": str(17_841_490_000_000_000 + _h(self.seed, "igid", username.lower()) % 10**9),
                "username": username,
                "name": _display(username),
                "followers_count": truth["followers"],
                "follows_count": 50 + _h(self.seed, "follows", username.lower()) % 300,
                "media_count": truth["media_count"],
            }[field]
        return out

    def _page(self, page_id: str, query: dict[str, str], token: str) -> dict:

        if "nopagefeature" in token:
            raise GraphError(MISSING_FEATURE, 10)
        self.app.require(token, "pages_read_engagement")
        truth = peer_truth(self.seed, "facebook", page_id, self.app.clock())
        if truth["status"] != "ok":
            raise GraphError(
                f"Unsupported get request. Object with ID '{page_id}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation. Please read the Graph API "
                "documentation at https://developers.facebook.com/docs/graph-api",
                100, type_="GraphMethodException", subcode=33,
            )
        slug = f"peer{page_id[-4:]}"
        values = {"id": page_id, "name": f"Peer Page {page_id[-4:]}", "link": f"https://www.facebook.com/{slug}",
                  "username": slug, "followers_count": truth["followers"], "fan_count": truth["fan_count"]}
        out = {}
        for name, _sub in parse_fields(query.get("fields"), "id,name"):
            if name not in PAGE_PUBLIC_FIELDS:
                raise GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type (Page)", 100)
            out[name] = values[name]
        return out

    # -- YouTube ----------------------------------------------------------------------------------

    def wants(self, path: str, query: Mapping[str, str]) -> bool:
        """True when ``Host.handle`` should pass this request to ``youtube_channels``."""
        return path == "/youtube/v3/channels" and (self.owns_channels_request(query) or self.handles_lookup(query))

    @staticmethod
    def owns_channels_request(query: Mapping[str, str]) -> bool:
        """True when a channels.list call names peer channel ids (``UCpeer...``) only."""
        ids = [x.strip() for x in query.get("id", "").split(",") if x.strip()]
        return bool(ids) and all(x.startswith(PEER_CHANNEL_PREFIX) for x in ids)

    def handles_lookup(self, query: Mapping[str, str]) -> bool:
        """True for a forHandle lookup that no own channel answers (own handles keep their path)."""
        handle = query.get("forHandle", "")
        if not handle:
            return False
        own = self.app.youtube
        name = handle.lstrip("@").lower()
        return not any(
            D.account_identity(self.seed, i)["username"].lower() == name for i in range(1, min(own.served, 1000) + 1)
        )

    def youtube_channels(self, method: str, query: dict[str, str], headers: Mapping[str, str]) -> GraphResponse:
        """``channels.list`` for peer channels: same auth, faults and quota as the own channels."""
        from sandbox.youtube import YT_PARTS, GoogleError, etag

        yt = self.app.youtube
        ids = [x.strip() for x in query.get("id", "").split(",") if x.strip()]
        plan = self.app.faults.decide(self.app.request_key(method, "/youtube/v3/channels", query),
                                      ids[0] if ids else None)
        try:
            if plan.error is not None:
                raise yt._fault_error(plan.error)
            token, key = yt._oauth_token(headers), query.get("key", "")
            if token:
                yt._check_oauth(token, None)
            elif not key:
                raise GoogleError(403, "The request is missing a valid API key.", "forbidden", "PERMISSION_DENIED")
            elif key.startswith(("invalid", "expired", "revoked")):
                raise GoogleError(400, "API key not valid. Please pass a valid API key.", "badRequest",
                                  "INVALID_ARGUMENT")
            yt._charge_quota()
            parts = [p.strip() for p in query.get("part", "").split(",") if p.strip()]
            if not parts or any(p not in YT_PARTS for p in parts):
                raise GoogleError(400, f"'{query.get('part', '')}'", "unknownPart", "INVALID_ARGUMENT")
            if not ids:
                found = channel_id_for(self.seed, query.get("forHandle", ""))
                ids = [found] if found else []
            now = self.app.clock()
            items = []
            for cid in ids:
                truth = peer_truth(self.seed, "youtube", cid, now)
                if truth["status"] != "ok":
                    continue  # unknown ids are silently left out, as on YouTube
                items.append(self._channel(cid, truth, parts))
        except GoogleError as err:
            return self.app.finish(GraphResponse(err.status, {}, err.body()), plan._replace(transforms=()))
        body = {"kind": "youtube#channelListResponse", "etag": etag(",".join(ids)),
                "pageInfo": {"totalResults": len(items), "resultsPerPage": max(5, len(items))}, "items": items}
        return self.app.finish(GraphResponse(200, {}, body), plan)

    def _channel(self, cid: str, truth: dict[str, Any], parts: list[str]) -> dict:
        from sandbox.youtube import etag

        out: dict[str, Any] = {"kind": "youtube#channel", "etag": etag(f"{cid}:{truth['snapshot_date']}"), "id": cid}
        if "snippet" in parts:
            title = f"Peer channel {cid[-6:]}"
            out["snippet"] = {"title": title, "description": "", "customUrl": "@" + cid[-8:].lower(),
                              "publishedAt": "2016-03-01T09:00:00Z", "localized": {"title": title, "description": ""},
                              "country": "SE"}
        if "statistics" in parts:
            stats: dict[str, Any] = {
                "viewCount": str(truth["followers"] * 37 + _h(self.seed, "views", cid) % 1000),
                "hiddenSubscriberCount": truth["hidden"],
                "videoCount": str(40 + _h(self.seed, "videos", cid) % 200),
            }
            if not truth["hidden"]:
                stats["subscriberCount"] = str(truth["subscriber_count"])
            out["statistics"] = stats
        if "contentDetails" in parts:
            out["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}}
        return out

    # -- ground truth over HTTP -------------------------------------------------------------------

    def truth_response(self, query: dict[str, str]) -> GraphResponse:
        """``GET /__truth/peers?refs=instagram:x,facebook:3000...,youtube:@y[&now=ISO]``."""

        try:
            now = datetime.fromisoformat(query["now"]) if query.get("now") else self.app.clock()
            refs = [r.partition(":") for r in query.get("refs", "").split(",") if r]
            rows = [peer_truth(self.seed, p, ref, now) for p, _, ref in refs]
        except (ValueError, KeyError) as exc:
            return GraphResponse(400, {}, {"error": {"message": f"bad truth query: {exc}"}})
        for row in rows:
            row["snapshot_date"] = row["snapshot_date"].isoformat()
        return GraphResponse(200, {}, rows)
