"""Ground truth: what the sandbox "platform" measured, straight from the generator.

Why: an end-to-end test must be able to say "the warehouse holds exactly what the API would have
reported" without re-implementing API parsing. These rows come from ``sandbox.data`` directly
(not through HTTP), so they are independent of the code under test.

The truth is not limited by the sandbox clock: it describes the generated world for any measured
day >= 2020-01-01 (earlier days have no data and yield no rows). Whether a day was *servable* at a
given moment (complete day, 2-year horizon) is the server's concern, and tests choose windows
accordingly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from typing import IO, Any

from sandbox import data as D

TRUTH_COLUMNS = (
    "platform",
    "account_id",
    "metric_date",
    "followers",
    "followers_gained",
    "followers_lost",
    "views",
    "reach",
    "engagements",
)
_VALUE_COLUMNS = TRUTH_COLUMNS[3:]


def iter_ground_truth(config: Any, since: date, until: date) -> Iterator[dict]:
    """Yield truth rows platform x account x day (``since..until`` inclusive) without building a
    list, so exporting 50,000 accounts stays at constant memory."""
    since = max(since, D.EPOCH)
    if since > until:
        return
    n_days = (until - since).days + 1
    days = [since + timedelta(days=k) for k in range(n_days)]
    for platform in D.PLATFORMS:
        make_id = D.facebook_page_id if platform == "facebook" else D.instagram_user_id
        for i in range(1, config.accounts + 1):
            account_id = make_id(i)
            series = D.daily_series(config.seed, platform, account_id, since, until)
            columns = [series[c].tolist() for c in _VALUE_COLUMNS]
            for k, day in enumerate(days):
                row = {"platform": platform, "account_id": account_id, "metric_date": day}
                for name, values in zip(_VALUE_COLUMNS, columns, strict=True):
                    row[name] = values[k]
                yield row


def ground_truth(config: Any, since: date, until: date) -> list[dict]:
    """One dict per platform x account x measured day in [since, until] inclusive.

    Keys: platform ("facebook"/"instagram"), account_id, metric_date (date), followers (total at
    the END of that day), followers_gained, followers_lost, views, reach, engagements (ints).
    Ordered by platform (facebook first), account index, date.
    """
    return list(iter_ground_truth(config, since, until))


def write_csv(config: Any, since: date, until: date, out: IO[str]) -> int:
    """Stream the ground truth as CSV (header + rows, ISO dates); returns the row count."""
    writer = csv.DictWriter(out, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in iter_ground_truth(config, since, until):
        row["metric_date"] = row["metric_date"].isoformat()
        writer.writerow(row)
        count += 1
    return count
