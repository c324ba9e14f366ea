"""Replay: re-derive observations and objects from the stored raw responses, without calling any API.

Used after a parser fix (`socialpulse replay`): the responses `raw.responses` keeps verbatim are
parsed again by the same parsers and frames the loader uses, and replace a load's rows.
"""

from __future__ import annotations

import json
from typing import Any

from ingestion.core.settings import Settings
from ingestion.load.loader import arrow_table, objects_frame, observations_frame, parse_records
from ingestion.load.warehouse import connect, transaction


def replay(settings: Settings, load_ids: list[str] | None = None) -> dict[str, int]:
    """Re-derive observations and objects from the stored raw responses, without calling any API.

    Used after a parser fix: for each committed load, the responses kept verbatim in
    `raw.responses` are parsed again and replace that load's observations and objects in one
    transaction. Returns observations written per load id.
    """
    con = connect(settings.warehouse)
    written: dict[str, int] = {}
    try:
        ids = load_ids or [r[0] for r in con.execute(
            "select load_id from raw.loads where status = 'committed' order by committed_at").fetchall()]
        for load_id in ids:
            rows = con.execute(
                """
                select response_id, platform, account_id, endpoint, request_params::varchar, fetched_at,
                       body::varchar, coalesce(object_type, 'account'), coalesce(object_id, account_id)
                from raw.responses where load_id = ?
                """,
                [load_id],
            ).fetchall()
            if not rows:
                continue
            records = []
            for response_id, platform, account_id, endpoint, params, fetched_at, body, object_type, object_id in rows:
                records.append({
                    "response_id": response_id, "platform": platform, "account_id": account_id,
                    "endpoint": endpoint, "params": json.loads(params or "{}"), "fetched_at": fetched_at.isoformat(),
                    "body": json.loads(body or "null"), "object_type": object_type, "object_id": object_id,
                })
            by_platform: dict[str, list[dict[str, Any]]] = {}
            for record in records:
                by_platform.setdefault(record["platform"], []).append(record)
            observations, objects = [], []
            for platform, recs in by_platform.items():
                obs, objs, broken = parse_records(platform, recs)
                if broken:
                    raise ValueError(f"load {load_id}: stored responses no longer parse: {broken}")
                observations.extend(obs)
                objects.extend(objs)
            df, objects_df = observations_frame(observations), objects_frame(objects)
            con.register("replayed_observations", arrow_table(df))
            con.register("replayed_objects", objects_df)
            try:
                with transaction(con):
                    con.execute("delete from raw.observations where load_id = ?", [load_id])
                    con.execute("delete from raw.objects where load_id = ?", [load_id])
                    con.execute(
                        """
                        insert into raw.observations
                        select ?, response_id, platform, account_id, object_type, object_id, source, metric_name,
                               period, metric_type, dimension, dimension_value, metric_date::date, end_time, value,
                               observed_at
                        from replayed_observations
                        """,
                        [load_id],
                    )
                    con.execute("insert into raw.objects select ?, * from replayed_objects", [load_id])
            finally:
                con.unregister("replayed_observations")
                con.unregister("replayed_objects")
            written[load_id] = len(df)
    finally:
        con.close()
    return written
