"""Snapchat Public Profile API stand-in (``/snapchat/v1/public_profiles/...``).

PLATFORM_APIS §6: the API exists (allowlist only) with a stats endpoint
``GET /v1/public_profiles/{profile_id}/stats`` taking ``granularity`` DAY|TOTAL|LIFETIME,
``fields``, ``startTime``/``endTime`` (required unless LIFETIME, within the past 90 days) and
``assetType`` (PROFILE default), but **the metric field names and the stats envelope could not be
read**. Everything marked ASSUMED below is a guess that the ingestion must verify once access is
granted; the sandbox exists so the pipeline can be built around *a* shape, not *the* shape.

* ASSUMED envelope, modelled on the Snap Marketing API stats responses: ``request_status``
  ("SUCCESS"/"ERROR"), ``request_id``, then ``timeseries_stats[].timeseries_stat.timeseries[]``
  (DAY) or ``total_stats[].total_stat`` (TOTAL, LIFETIME), each with ``sub_request_status``,
  ``id``, ``type`` ("PUBLIC_PROFILE"), ``granularity``, ``start_time``/``end_time`` and ``stats``.
* ASSUMED field names: ``subscriber_count`` (subscribers at the end of the period),
  ``subscribers_gained``, ``subscribers_lost``, ``views``, ``unique_viewers``,
  ``view_time_millis``, ``shares``, ``screenshots``. ``fields`` defaults to all of them; an unknown
  name -> 400.
* ASSUMED days: UTC calendar days (``startTime``/``endTime`` as ``YYYY-MM-DDT00:00:00`` UTC, a
  trailing ``Z``/``.000Z`` accepted); data through the last complete UTC day.
* ASSUMED errors: ``{"request_status": "ERROR", "request_id", "debug_message",
  "display_message", "error_code"}`` with HTTP 400 (E1001 bad parameter, E1008 window), 401
  (E3003 auth), 404 (E3001 unknown profile), 429/500 (faults).
* Profile entity: ``GET /v1/public_profiles/{id}`` and ``/v1/public_profiles/my_profile`` (profile 1
  unless the Bearer token contains ``profile-N``) with ``id``, ``display_name``,
  ``snap_user_name``, ``profile_tier``, ``subscriber_count``,
  ``share_authorized_data_with_api_partners`` (field names from the docs' Profiles page).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.host import HostedApp
from sandbox.wire import GraphResponse

STATS_FIELDS = (
    "subscriber_count",
    "subscribers_gained",
    "subscribers_lost",
    "views",
    "unique_viewers",
    "view_time_millis",
    "shares",
    "screenshots",
)
WINDOW_DAYS = 90
GRANULARITIES = ("DAY", "TOTAL", "LIFETIME")
ASSET_TYPES = ("PROFILE", "STORY", "SAVED_STORY", "LENS", "SPOTLIGHT")


class SnapError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def snapchat_series(seed: int, profile_id: str, first: date, last: date) -> dict[str, list[int]]:
    """Daily stats (ASSUMED names) for ``first..last``: subscribers = the generic follower stock;
    ``shares + screenshots`` = engagements; view time from a per-profile average view length."""
    s = D.daily_series(seed, "snapchat", profile_id, first, last)
    prof = D.cached_profile(seed, "snapchat", profile_id)
    avg_ms = 2000 + int(prof["visit_rate"] * 150_000)  # 2.75 s .. 6.5 s per view
    eng = s["engagements"].tolist()
    shares = [e * 60 // 100 for e in eng]
    return {
        "subscriber_count": s["followers"].tolist(),
        "subscribers_gained": s["followers_gained"].tolist(),
        "subscribers_lost": s["followers_lost"].tolist(),
        "views": s["views"].tolist(),
        "unique_viewers": s["reach"].tolist(),
        "view_time_millis": [v * avg_ms for v in s["views"].tolist()],
        "shares": shares,
        "screenshots": [e - sh for e, sh in zip(eng, shares, strict=True)],
    }


def _stamp(d: date) -> str:
    return f"{d.isoformat()}T00:00:00.000Z"


def _parse_time(raw: str, name: str) -> date:
    text = raw.strip().replace("Z", "").split(".")[0]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SnapError(400, "E1001", f"Invalid {name}: expected yyyy-mm-ddT00:00:00") from None
    if moment.utcoffset() is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if (moment.hour, moment.minute, moment.second) != (0, 0, 0):
        raise SnapError(400, "E1001", f"Invalid {name}: must be at 00:00:00 UTC")
    return moment.date()


class SnapchatApp(HostedApp):
    """The Snapchat surface (shares clock, faults and seed with ``Host``)."""

    PLATFORM, SERVED_FIELD, SERVED_DEFAULT = "snapchat", "snapchat_profiles", 0

    def _request_id(self, key: str) -> str:
        digest = hashlib.blake2b(f"{self.config.seed}:{key}:{self.app.now_ts()}".encode(), digest_size=12).hexdigest()
        return f"{digest[:8]}00ff{digest[8:16]}ff{digest[16:]}"

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], base_url: str
    ) -> GraphResponse:

        key = self.app.request_key(method, path, query)
        request_id = self._request_id(key)
        segments = [s for s in path.split("/") if s]  # snapchat, v1, public_profiles, {id}, [stats]
        token = self.app.bearer_or_query_token({}, headers)
        profile = None
        if len(segments) >= 4 and segments[:3] == ["snapchat", "v1", "public_profiles"]:
            profile = self._mine(token) if segments[3] == "my_profile" else segments[3]
        account = profile if profile and self.served_index(profile) else None
        plan = self.app.faults.decide(key, account)
        try:
            if plan.error is not None:
                fault = plan.error
                if fault.kind in ("5xx", "flaky"):
                    raise SnapError(fault.status if fault.status >= 500 else 500, "E9001", "Internal server error")
                err = SnapError(429, "E9002", "Rate limit exceeded")
                err.retry_after = fault.retry_after_s or 1  # type: ignore[attr-defined]
                raise err
            if len(segments) < 4 or segments[:3] != ["snapchat", "v1", "public_profiles"] or len(segments) > 5:
                raise SnapError(404, "E3001", "Resource not found")
            if not token:
                raise SnapError(401, "E3003", "Unauthorized: missing Bearer token")
            if token.startswith(("expired", "revoked")) or self.app.faults.auth_fault(account):
                raise SnapError(401, "E3003", "Unauthorized: invalid or expired access token")
            if method != "GET":
                raise SnapError(405, "E1001", "Method not allowed")
            if account is None:
                raise SnapError(404, "E3001", f"Public profile {profile} not found")
            if len(segments) == 4:
                body = self._profile(account)
            elif segments[4] == "stats":
                body = self._stats(account, query)
            else:
                raise SnapError(404, "E3001", "Resource not found")
        except SnapError as err:
            body = {
                "request_status": "ERROR",
                "request_id": request_id,
                "debug_message": err.message,
                "display_message": "We're sorry, but the requested resource is not available at this time.",
                "error_code": err.code,
            }
            hdrs = {"Retry-After": str(err.retry_after)} if getattr(err, "retry_after", 0) else {}
            return self.app.finish(GraphResponse(err.status, hdrs, body), plan._replace(transforms=()))
        body = {"request_status": "SUCCESS", "request_id": request_id, **body}
        return self.app.finish(GraphResponse(200, {}, body), plan, empty=_empty_snap)

    def _mine(self, token: str) -> str | None:
        m = re.search(r"profile-(\d+)", token)
        i = int(m.group(1)) if m else 1
        return D.snapchat_profile_id(i) if 1 <= i <= self.served else None

    def _profile(self, profile_id: str) -> dict:
        i = self.served_index(profile_id) or 1
        ident = D.account_identity(self.config.seed, i)
        snapshot = PT.pacific_date(self.app.clock()) - timedelta(days=1)
        return {
            "public_profiles": [
                {
                    "sub_request_status": "SUCCESS",
                    "public_profile": {
                        "id": profile_id,
                        "display_name": ident["name"],
                        "snap_user_name": ident["username"].replace("_", "")[:15],
                        "profile_tier": "BUSINESS",
                        "subscriber_count": D.followers_at(self.config.seed, "snapchat", profile_id, snapshot),
                        "share_authorized_data_with_api_partners": True,
                    },
                }
            ]
        }

    def _stats(self, profile_id: str, query: dict[str, str]) -> dict:
        granularity = (query.get("granularity") or "LIFETIME").upper()
        if granularity not in GRANULARITIES:
            raise SnapError(400, "E1001", f"Invalid granularity: must be one of {', '.join(GRANULARITIES)}")
        asset = (query.get("assetType") or "PROFILE").upper()
        if asset not in ASSET_TYPES:
            raise SnapError(400, "E1001", f"Invalid assetType: must be one of {', '.join(ASSET_TYPES)}")
        fields = [f.strip() for f in (query.get("fields") or ",".join(STATS_FIELDS)).split(",") if f.strip()]
        for f in fields:
            if f not in STATS_FIELDS:
                raise SnapError(400, "E1001", f"Invalid field: {f}")
        today = self.app.clock().astimezone(UTC).date()
        last_complete = today - timedelta(days=1)
        seed = self.config.seed
        if granularity == "LIFETIME":
            first, last = D.EPOCH, last_complete
            start = end = None
        else:
            if not query.get("startTime") or not query.get("endTime"):
                raise SnapError(400, "E1001", "startTime and endTime are required unless granularity=LIFETIME")
            start = _parse_time(query["startTime"], "startTime")
            end = _parse_time(query["endTime"], "endTime")
            if start >= end:
                raise SnapError(400, "E1001", "startTime must be before endTime")
            if (end - start).days > WINDOW_DAYS or start < today - timedelta(days=WINDOW_DAYS):
                raise SnapError(400, "E1008", f"Time range must be within the past {WINDOW_DAYS} days")
            first, last = max(start, D.EPOCH), min(end - timedelta(days=1), last_complete)
        stat_base = {"id": profile_id, "type": "PUBLIC_PROFILE", "granularity": granularity}
        series = {f: [] for f in STATS_FIELDS} if first > last else snapchat_series(seed, profile_id, first, last)
        if granularity == "DAY":
            n = (last - first).days + 1 if first <= last else 0
            points = [
                {
                    "start_time": _stamp(first + timedelta(days=k)),
                    "end_time": _stamp(first + timedelta(days=k + 1)),
                    "stats": {f: series[f][k] for f in fields},
                }
                for k in range(n)
            ]
            stat = {
                **stat_base,
                "start_time": _stamp(start),  # type: ignore[arg-type]
                "end_time": _stamp(end),  # type: ignore[arg-type]
                "finalized_data_end_time": _stamp(last_complete + timedelta(days=1)),
                "timeseries": points,
            }
            return {"timeseries_stats": [{"sub_request_status": "SUCCESS", "timeseries_stat": stat}]}
        stats: dict[str, Any] = {}
        for f in fields:
            values = series[f]
            if f == "subscriber_count":
                stats[f] = values[-1] if values else D.followers_at(seed, "snapchat", profile_id, last_complete)
            elif f == "unique_viewers":
                stats[f] = (max(values) + (sum(values) - max(values)) // 3) if values else 0
            else:
                stats[f] = sum(values)
        stat = dict(stat_base)
        if start is not None:
            stat.update(start_time=_stamp(start), end_time=_stamp(end))  # type: ignore[arg-type]
        stat["stats"] = stats
        return {"total_stats": [{"sub_request_status": "SUCCESS", "total_stat": stat}]}


def _empty_snap(body: Any) -> Any:
    if isinstance(body, dict) and "timeseries_stats" in body:
        body = dict(body)
        stat = dict(body["timeseries_stats"][0]["timeseries_stat"], timeseries=[])
        body["timeseries_stats"] = [{"sub_request_status": "SUCCESS", "timeseries_stat": stat}]
    return body
