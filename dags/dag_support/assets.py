"""Every Asset of socialpulse, defined once and imported by producers and consumers alike."""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

# Platforms with a fetch implementation (ingestion.plan.SUPPORTED_PLATFORMS; a test keeps both equal).
PLATFORMS: tuple[str, ...] = ("facebook", "instagram")

# One Asset per platform's raw data; the load task of that platform emits it with the load ids and
# business dates in the event's `extra` (asset-triggered runs have no logical date).
RAW_ASSETS: dict[str, Asset] = {
    platform: Asset(name=f"socialpulse.raw.{platform}", uri=f"socialpulse://warehouse/raw/{platform}")
    for platform in PLATFORMS
}

# The backfill DAG emits the raw Assets through this alias, once per platform that committed data,
# at the very end of its run: a two-year backfill triggers one transform run.
RAW_BACKFILL_ALIAS = AssetAlias(name="socialpulse.raw.backfill")

# `dbt build` emits one event per mart it built through this alias (one Asset per mart model).
MARTS_ALIAS = AssetAlias(name="socialpulse.marts")

MARTS_PUBLISHED = Asset(name="socialpulse.marts.published", uri="socialpulse://bi/marts")


def mart_asset(model: str) -> Asset:
    """The Asset of one mart model (e.g. `fct_follower_growth_daily`)."""
    return Asset(name=f"socialpulse.marts.{model}", uri=f"socialpulse://warehouse/marts/{model}")
