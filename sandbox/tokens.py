"""Sandbox tokens: the system user, the app, and what `debug_token` says about a token (conventions
documented in sandbox/README.md). Used by the Graph router (`sandbox.graph`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

DAY = 86400
ME_ID = "61550000000001"
ME_NAME = "SocialPulse Sandbox System User"

APP_ID = "1122334455667788"
APP_NAME = "SocialPulse Sandbox"
ALL_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_manage_insights",
    "business_management",
)
PAGE_TOKEN_PREFIX = "sandbox-page-token-"
LONG_LIVED_S = 60 * DAY
SHORT_LIVED_S = 3600


def token_info(token: str, now: datetime) -> dict[str, Any]:
    """What ``/debug_token`` knows about a token, by naming convention (never the token itself).

    ``expired*`` -> invalid (190/463); ``revoked*`` -> invalid (190/460); ``shortlived*`` -> USER token
    expiring 1 h after now; ``longlived*`` -> USER token expiring 60 days after now; page tokens from
    ``/me/accounts`` -> PAGE, never expiring; ``APPID|SECRET`` -> APP token; any ``noscope-<scope>``
    inside a token removes that scope; anything else -> a SYSTEM_USER token that never expires and
    has all of ``ALL_SCOPES``.
    """
    ts = int(now.timestamp())
    info: dict[str, Any] = {
        "app_id": APP_ID,
        "type": "SYSTEM_USER",
        "application": APP_NAME,
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": True,
        "issued_at": ts - 86400,
        "scopes": list(ALL_SCOPES),
        "user_id": ME_ID,
    }
    if token.startswith("expired"):
        info.update(is_valid=False, expires_at=ts - 7200, scopes=[], type="USER")
        info["error"] = {"code": 190, "message": "Error validating access token: Session has expired.", "subcode": 463}
        return info
    if token.startswith("revoked"):
        info.update(is_valid=False, scopes=[], type="USER")
        info["error"] = {
            "code": 190,
            "message": "Error validating access token: The session has been invalidated because the user changed "
            "their password or Facebook has changed the session for security reasons.",
            "subcode": 460,
        }
        return info
    if token.startswith(PAGE_TOKEN_PREFIX):
        info.update(type="PAGE", profile_id=token[len(PAGE_TOKEN_PREFIX):].split("-")[0])
        info["scopes"] = [s for s in ALL_SCOPES if s != "business_management"]
    elif token.startswith("shortlived"):
        info.update(type="USER", expires_at=ts + SHORT_LIVED_S, data_access_expires_at=ts + 90 * DAY)
    elif token.startswith("longlived"):
        info.update(type="USER", expires_at=ts + LONG_LIVED_S, data_access_expires_at=ts + 90 * DAY)
    elif "|" in token:
        info.update(type="APP", scopes=[])
        info.pop("user_id")
    missing = set(re.findall(r"noscope-([a-z_]+)", token))
    info["scopes"] = [s for s in info["scopes"] if s not in missing]
    info["granular_scopes"] = [{"scope": s} for s in info["scopes"]]
    return info


def derived_token(prefix: str, token: str) -> str:
    """A new token derived from (never equal to, never containing) the given one."""
    return prefix + hashlib.blake2b(token.encode(), digest_size=12).hexdigest()
