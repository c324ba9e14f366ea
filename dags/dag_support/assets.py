"""Every Asset of socialpulse, defined once and imported by producers and consumers alike."""

from __future__ import annotations

from airflow.sdk import Asset

# One Asset per platform's raw data; the load task of that platform emits it with the load ids and
# business dates in the event's `extra` (asset-triggered runs have no logical date).
RAW_ASSETS: dict[str, Asset] = {
    platform: Asset(name=f"socialpulse.raw.{platform}", uri=f"socialpulse://warehouse/raw/{platform}")
    for platform in ("facebook", "instagram")
}
MARTS_PUBLISHED = Asset(name="socialpulse.marts.published", uri="socialpulse://bi/marts")
