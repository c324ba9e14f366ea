"""Each platform's source module, by name: the fetcher, the loader and the peer snapshot look it up here.

Its own module (not `ingestion.sources`) because the platform modules import the package for
`FetchContext` and friends; the names come from the one platform table (`ingestion.core.platforms`).
"""

from __future__ import annotations

from types import ModuleType

from ingestion.core.platforms import ALL
from ingestion.sources import facebook, instagram, snapchat, youtube

PLATFORM_MODULES: dict[str, ModuleType] = {m.PLATFORM: m for m in (facebook, instagram, youtube, snapchat)}
if tuple(sorted(PLATFORM_MODULES)) != tuple(sorted(ALL)):
    raise ImportError(f"platform modules {sorted(PLATFORM_MODULES)} differ from the platform table {sorted(ALL)}")
