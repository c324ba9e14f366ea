"""Every Asset of socialpulse, defined once and imported by producers and consumers alike."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias, AssetAny

# Every platform of the one platform table, ingestion.core.platforms.ALL (DAG files import nothing from
# ingestion at parse time, so the names are spelled out here; a
# test keeps them equal). A switched-off platform's tasks plan nothing and are skipped.
PLATFORMS: tuple[str, ...] = ("facebook", "instagram", "youtube", "snapchat")

# One Asset per platform's raw data; the load task of that platform emits it with the load ids and
# business dates in the event's `extra` (asset-triggered runs have no logical date).
RAW_ASSETS: dict[str, Asset] = {
    platform: Asset(name=f"socialpulse.raw.{platform}", uri=f"socialpulse://warehouse/raw/{platform}")
    for platform in PLATFORMS
}

# What the transform DAG is scheduled on: any raw Asset.
ANY_RAW = AssetAny(*RAW_ASSETS.values())

# The nightly and backfill DAGs emit the raw Assets through this alias, once per platform that
# committed data, all together at the end of a run: every run triggers one transform run (a
# two-year backfill included), not one per platform.
RAW_LOADS_ALIAS = AssetAlias(name="socialpulse.raw.loads")

# `dbt build` emits one event per mart it built through this alias (one Asset per mart model).
MARTS_ALIAS = AssetAlias(name="socialpulse.marts")

MARTS_PUBLISHED = Asset(name="socialpulse.marts.published", uri="socialpulse://bi/marts")


def mart_asset(model: str) -> Asset:
    """The Asset of one mart model (e.g. `fct_follower_growth_daily`)."""
    return Asset(name=f"socialpulse.marts.{model}", uri=f"socialpulse://warehouse/marts/{model}")
