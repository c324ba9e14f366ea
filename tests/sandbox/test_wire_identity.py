"""The sandbox's answers, byte for byte: a fixed request set against a frozen sandbox hashes to the
digests below.

Why: the stand-in server is made cheaper per call (issue 21, bench/README.md "Sandbox CPU per
call": caches, precomputed pieces, cheaper routing) and none of that may change a byte of what a
client sees: status, headers (usage headers, trace ids, Date, Retry-After), bodies (values,
rounding, restatements, paging URLs, errors), fault renderings, the truth export. The other sandbox
tests check meanings; this one checks that nothing else moved.

How: per server configuration, one keep-alive connection sends the requests of `request_set` in
order (a fixed `Host`, so paging URLs do not carry the random port), with the sandbox clock frozen
at NOW and the *rate clock* frozen too (`FrozenRateServer`: throttles and usage windows must not
depend on how fast this machine is). Requests follow the `paging.next` links of earlier answers
the way a client does. Every answer's status line, headers and body go into one SHA-256.

A digest that changes means a response changed. If that is intended (a deliberate behaviour
change, with its own tests), find out which one: `SANDBOX_WIRE_DUMP=DIR pytest this file` writes
every answer to `DIR/<config>.txt` on this commit and on the previous one, `diff` them, then update
`DIGESTS`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from sandbox import data as D
from sandbox.pacific_time import day_start_ts
from sandbox.server import SandboxConfig, SandboxServer
from tests.sandbox.conftest import NOW, TODAY, TOKEN, YESTERDAY

HOST = "sandbox.test"
V = "/graph/v25.0"

DIGESTS = {
    "plain": "c4012427be88333fcb8b8ef1f9ac632dd69d021df83988a97cdfdb931cfb9297",
    "limits": "604ffc2245d27c9184647f2ffe878ddf9fb54aabdb7d462b5e64231222bfed99",
    "faults": "989bf4e731987183c869474a6fdcc61804eba9090f122e15d13d23a14dabb0f1",
}

CONFIGS = {
    # default usage limits (percentages move with every call), restatements on
    "plain": {},
    # the object budget and the YouTube quota run out part-way: 80001/80002, regain minutes, 403 quota
    "limits": {"call_budget_per_hour": 15, "youtube_quota_per_day": 1},
    # every fault profile that answers (no `latency`: it sleeps), plus permanent auth faults per account
    "faults": {
        "faults": "5xx,429,app_limit,user_limit,page_limit,custom_limit,truncated,non_json,empty,"
                  "schema_drift,throttle,flaky,reset,timeout",
        "fault_timeout_s": 0.0,
        "account_faults": {D.facebook_page_id(3): "expired_token", D.instagram_user_id(3): "revoked_token",
                           D.youtube_channel_id(2): "expired_token"},
    },
}


class FrozenRateServer(SandboxServer):
    """The sandbox with its rate clock frozen (moved only by `advance`), so usage windows and
    throttles give the same answers however long the run takes."""

    def rate_clock(self) -> float:
        return 1_000_000.0 + self._rate_offset


def ts(day) -> int:
    return day_start_ts(day)


def q(path: str, token: str | None = TOKEN, **params) -> str:
    if token is not None:
        params["access_token"] = token
    return f"{path}?{urlencode(params)}" if params else path


PAGE_METRICS = ("page_follows,page_daily_follows_unique,page_daily_unfollows_unique,page_media_view,"
                "page_total_media_view_unique,page_post_engagements,page_views_total")
IG_DAY_TOTALS = "views,total_interactions,accounts_engaged,likes,comments,shares,saves"
POST_METRICS = "post_media_view,post_total_media_view_unique,post_reactions_by_type_total,post_clicks"
MEDIA_METRICS = "reach,views,likes,comments,shares,saved,total_interactions"


def account_requests(i: int) -> Iterator[tuple]:
    """What a nightly and a backfill ask about account pair `i` (Page, IG user), as single calls."""
    page, ig = D.facebook_page_id(i), D.instagram_user_id(i)
    week, month = ts(YESTERDAY - timedelta(days=6)), ts(YESTERDAY - timedelta(days=29))
    yield "GET", q(f"{V}/{page}", fields="id,name,username,link,followers_count,fan_count,talking_about_count,"
                                          "instagram_business_account{id,username,followers_count,media_count}")
    yield "GET", q(f"{V}/{ig}", fields="id,username,followers_count,follows_count,media_count")
    yield "GET", q(f"{V}/{page}/insights", metric=PAGE_METRICS, period="day", since=week, until=ts(TODAY))
    yield "GET", q(f"{V}/{page}/insights", metric=PAGE_METRICS, period="day",
                   since=(YESTERDAY - timedelta(days=89)).isoformat(), until=TODAY.isoformat())
    yield "GET", q(f"{V}/{page}/insights", metric="page_media_view,page_post_engagements", period="week",
                   since=week, until=ts(TODAY))
    yield "GET", q(f"{V}/{page}/insights", metric="page_total_media_view_unique", period="days_28",
                   since=week, until=ts(TODAY))
    yield "GET", q(f"{V}/{page}/insights", metric="page_follows_city,page_follows_country", period="lifetime")
    yield "GET", q(f"{V}/{page}/insights/page_views_total/day")
    yield "GET", q(f"{V}/{ig}/insights", metric="reach,follower_count", period="day", metric_type="time_series",
                   since=month, until=ts(TODAY))
    for back in (1, 2, 3, 40):  # restated, restated, final, long ago
        day = YESTERDAY - timedelta(days=back - 1)
        window = {"since": ts(day), "until": ts(day + timedelta(days=1))}
        yield "GET", q(f"{V}/{ig}/insights", metric="follows_and_unfollows", period="day",
                       metric_type="total_value", breakdown="follow_type", **window)
        yield "GET", q(f"{V}/{ig}/insights", metric=IG_DAY_TOTALS, period="day", metric_type="total_value", **window)
    yield "GET", q(f"{V}/{ig}/insights", metric="reach,views", period="day", metric_type="total_value",
                   breakdown="media_product_type", since=week, until=ts(TODAY))
    for metric in ("follower_demographics", "engaged_audience_demographics"):
        for breakdown in ("age,gender", "city", "country"):
            yield "GET", q(f"{V}/{ig}/insights", metric=metric, period="lifetime", metric_type="total_value",
                           breakdown=breakdown, timeframe="this_month")
    yield "GET", q(f"{V}/{ig}/insights", metric="engaged_audience_demographics", period="lifetime",
                   metric_type="total_value", breakdown="gender,age", timeframe="this_week")
    # listings, followed page by page ("next" of the previous answer), then the items' insights
    yield "GET", q(f"{V}/{page}/published_posts", fields="id,message,created_time,permalink_url,status_type",
                   limit=4, since=ts(YESTERDAY - timedelta(days=60)))
    yield "NEXT", "next"
    yield "NEXT", "previous"
    yield "ITEMS", f"metric={POST_METRICS}&period=lifetime"
    yield "GET", q(f"{V}/{ig}/media", fields="id,caption,media_type,media_product_type,timestamp,permalink,"
                                             "like_count,comments_count", limit=3)
    yield "NEXT", "next"
    yield "ITEMS", f"metric={MEDIA_METRICS}&period=lifetime"
    yield "GET", q(f"{V}/{ig}/stories", fields="id,media_type,timestamp")
    yield "ITEMS", "metric=reach,views,navigation&period=lifetime"


def batch_requests(accounts: tuple[int, ...]) -> Iterator[tuple]:
    """The same kind of calls as one Graph batch (with headers, then without), and one with bad entries."""
    day = YESTERDAY
    ops = []
    for i in accounts:
        page, ig = D.facebook_page_id(i), D.instagram_user_id(i)
        ops += [
            {"method": "GET", "relative_url": f"{page}?fields=id,name,followers_count,fan_count"},
            {"method": "GET", "relative_url": f"{ig}/insights?metric=follows_and_unfollows&period=day&metric_type="
                                              f"total_value&breakdown=follow_type&since={ts(day)}&until={ts(TODAY)}"},
            {"method": "GET", "relative_url": f"v25.0/{ig}/insights?metric={IG_DAY_TOTALS}&period=day&metric_type="
                                              f"total_value&since={ts(day)}&until={ts(TODAY)}"},
            {"method": "GET", "relative_url": f"{page}/insights?metric={PAGE_METRICS}&period=day"},
            {"method": "GET", "relative_url": f"{ig}/insights?metric=bogus&period=day"},
        ]
    body = urlencode({"batch": json.dumps(ops), "access_token": TOKEN, "include_headers": "true"})
    yield "POST", f"{V}/", body
    body = urlencode({"batch": json.dumps(ops[:6]), "access_token": TOKEN, "include_headers": "false"})
    yield "POST", f"{V}/", body
    bad = [{"method": "GET"}, "nonsense", {"method": "DELETE", "relative_url": f"{D.facebook_page_id(1)}"},
           {"method": "GET", "relative_url": "me?fields=id,name", "body": "fields=id"}]
    yield "POST", f"{V}/", urlencode({"batch": json.dumps(bad), "access_token": TOKEN})
    yield "POST", f"{V}/", urlencode({"batch": json.dumps([ops[0]] * 51), "access_token": TOKEN})
    yield "POST", f"{V}/", urlencode({"batch": "[not json", "access_token": TOKEN})
    yield "POST", f"{V}/", urlencode({"access_token": TOKEN})


def other_requests() -> Iterator[tuple]:
    """Errors the tests and drills rely on, the other platforms, onboarding, the truth export."""
    page, ig = D.facebook_page_id(1), D.instagram_user_id(1)
    yield "GET", q(f"{V}/{page}/insights", metric="page_fans", period="day")
    yield "GET", q(f"{V}/{page}/insights", metric=PAGE_METRICS, since="2026-01-01", until=TODAY.isoformat())
    yield "GET", q(f"{V}/{page}/insights", metric=PAGE_METRICS, since=ts(TODAY), until=ts(YESTERDAY))
    yield "GET", q(f"{V}/{page}/insights", period="day")
    yield "GET", q(f"{V}/{ig}/insights", metric="follower_count", period="day", metric_type="time_series",
                   since=ts(YESTERDAY - timedelta(days=40)), until=ts(YESTERDAY - timedelta(days=20)))
    yield "GET", q(f"{V}/{ig}/insights", metric="views", period="day", metric_type="time_series")
    yield "GET", q(f"{V}/{ig}/insights", metric="impressions", period="day")
    yield "GET", q(f"{V}/{page}", token=None)
    yield "GET", q(f"{V}/{page}", token="expired-abc")
    yield "GET", q(f"{V}/{page}", token="revoked-abc")
    yield "GET", q(f"{V}/{page}/insights", token="tok-noscope-read_insights", metric="page_media_view")
    yield "GET", q(f"{V}/{page}/published_posts", after="bm90LWEtY3Vyc29y")
    yield "GET", q(f"{V}/{page}/published_posts", limit="zero")
    yield "GET", q(f"{V}/999999", fields="id")
    yield "GET", q(f"{V}/{page}/nonsense/edge")
    yield "GET", q(f"{V}/{page}", fields="id,colour")
    yield "DELETE", q(f"{V}/{page}")
    yield "GET", q(f"{V}/me")
    yield "GET", q(f"{V}/me/accounts", fields="id,name,access_token,instagram_business_account{id}", limit=4)
    yield "NEXT", "next"
    yield "GET", q(f"{V}/debug_token", input_token="shortlived-xyz")
    yield "GET", q(f"{V}/oauth/access_token", token=None, grant_type="fb_exchange_token", client_id="1",
                   client_secret="s", fb_exchange_token="shortlived-xyz")
    yield "GET", q("/youtube/v3/channels", token=None, part="snippet,statistics,contentDetails",
                   id=",".join(D.youtube_channel_id(i) for i in (1, 2, 3)), key="apikey")
    yield "GET", q("/youtube/v3/channels", token=None, part="statistics", mine="true"), "", {
        "Authorization": f"Bearer ya29.token-channel-{1}"}
    for ch in (1, 2):
        ids = f"channel=={D.youtube_channel_id(ch)}"
        auth = {"Authorization": "Bearer ya29.sandbox-token"}
        yield "GET", q("/youtubeanalytics/v2/reports", token=None, ids=ids, startDate="2026-11-13",
                       endDate=YESTERDAY.isoformat(), metrics="views,estimatedMinutesWatched,likes,comments,shares,"
                       "subscribersGained,subscribersLost", dimensions="day", sort="day"), "", auth
        yield "GET", q("/youtubeanalytics/v2/reports", token=None, ids=ids, startDate="2026-10-23",
                       endDate=YESTERDAY.isoformat(), metrics="viewerPercentage",
                       dimensions="ageGroup,gender"), "", auth
    yield "GET", q("/youtubeanalytics/v2/reports", token=None, ids="channel==UCnope", startDate="2026-11-13",
                   endDate="2026-11-19", metrics="views"), "", {"Authorization": "Bearer ya29.x"}
    yield "POST", "/oauth2/token", urlencode({"grant_type": "refresh_token", "client_id": "c",
                                               "refresh_token": "1//r-channel-2"})
    snap = D.snapchat_profile_id(1)
    auth = {"Authorization": "Bearer snap-token"}
    yield "GET", f"/snapchat/v1/public_profiles/{snap}/stats?granularity=DAY&start_time=2026-11-10&" \
                 f"end_time={TODAY.isoformat()}", "", auth
    yield "GET", f"/snapchat/v1/public_profiles/{snap}", "", auth
    yield "GET", f"/snapchat/v1/public_profiles/{snap}/stats", "", auth
    yield "GET", "/__truth?" + urlencode({"since": "2026-11-01", "until": YESTERDAY.isoformat()})
    yield "GET", "/__truth/demographics?as_of=2026-11-19"
    yield "GET", "/__health"
    yield "GET", "/nowhere"


def request_set() -> Iterator[tuple]:
    for i in (1, 2, 25):  # two ordinary account pairs and a tiny one (< 100 followers)
        yield from account_requests(i)
    yield from batch_requests((1, 2, 3, 25))
    yield from other_requests()
    yield "ADVANCE", 86400 + 3600  # the next night: restatements age, usage windows move on
    yield from account_requests(1)
    yield from batch_requests((1, 3))


def _send(conn: http.client.HTTPConnection, method: str, target: str, body: str = "",
          headers: dict | None = None) -> tuple[bytes, bytes]:
    hdrs = {"Host": HOST, **(headers or {})}
    if body:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, target, body=body.encode() or None, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    head = f"{resp.status} {resp.reason}\n" + "".join(f"{k}: {v}\n" for k, v in resp.getheaders())
    return head.encode(), payload


def _answers(server: SandboxServer) -> Iterator[bytes]:
    """Send the request set; yields one record per answer (or per transport fault)."""
    conn: http.client.HTTPConnection | None = None
    last_json: object = None
    for step in request_set():
        kind = step[0]
        if kind == "ADVANCE":
            server.advance(step[1])
            continue
        if kind == "NEXT":  # follow a paging link of the previous answer, without host and port
            link = last_json.get("paging", {}).get(step[1]) if isinstance(last_json, dict) else None
            if not link:
                yield f"no paging.{step[1]}\n".encode()
                continue
            parts = urlsplit(link)
            steps = [("GET", f"{parts.path}?{parts.query}&access_token={TOKEN}")]
        elif kind == "ITEMS":  # the insights of each item of the previous answer
            data = last_json.get("data", []) if isinstance(last_json, dict) else []
            steps = [("GET", f"{V}/{row['id']}/insights?{step[1]}&access_token={TOKEN}") for row in data[:3]]
            steps += [("GET", f"{V}/{row['id']}?fields=id&access_token={TOKEN}") for row in data[:1]]
        else:
            steps = [step]
        for method, target, *rest in steps:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                head, payload = _send(conn, method, target, *rest)
            except (ConnectionError, http.client.HTTPException) as exc:
                conn.close()
                conn = None
                yield f"{method} {target}\ntransport {type(exc).__name__}\n".encode()
                continue
            try:
                last_json = json.loads(payload)
            except ValueError:
                last_json = None
            yield f"{method} {target}\n".encode() + head + f"{len(payload)}\n".encode() + payload + b"\n"
    if conn is not None:
        conn.close()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_answers_are_byte_identical(name):
    config = SandboxConfig(accounts=30, seed=42, now=NOW, youtube_channels=3, snapchat_profiles=2, **CONFIGS[name])
    digest = hashlib.sha256()
    dump_dir = os.environ.get("SANDBOX_WIRE_DUMP")
    dump = (Path(dump_dir) / f"{name}.txt").open("wb") if dump_dir else None
    with FrozenRateServer(config) as server:
        for record in _answers(server):
            digest.update(record)
            if dump is not None:
                dump.write(record)
    if dump is not None:
        dump.close()
    assert digest.hexdigest() == DIGESTS[name], (
        f"the sandbox's answers under config {name!r} changed; see this module's docstring")
