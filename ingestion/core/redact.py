"""Keep tokens out of logs, exceptions, landing files and the warehouse.

Graph API tokens travel in URLs (`access_token=`, `appsecret_proof=`), so anything that can hold a
URL or a request goes through `redact()` before it is logged, raised or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Query parameters and headers whose values are secret.
SECRET_PARAMS: frozenset[str] = frozenset(
    {"access_token", "appsecret_proof", "client_secret", "refresh_token", "key", "input_token",
     "fb_exchange_token", "code", "code_verifier"}
)
_PARAM_RE = re.compile(
    r"(?P<name>" + "|".join(sorted(SECRET_PARAMS)) + r")=(?P<value>[^&\s\"']+)", re.IGNORECASE
)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
MASK = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query parameters, bearer tokens and any known secret value in `text`."""
    text = _PARAM_RE.sub(lambda m: f"{m.group('name')}={MASK}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of request parameters with secret values masked."""
    return {k: (MASK if k.lower() in SECRET_PARAMS else v) for k, v in params.items()}
