"""Python's cyclic garbage collector and the preloaded heap of a long-lived worker.

A Celery worker (and `socialpulse run`) imports the pipeline, pandas, DuckDB, Great Expectations
and dbt once, before it forks its tasks (ingestion.pipeline.preload): ~370,000 container objects
that live as long as the process. Every collection of the oldest generation walks all of them, and
work that allocates many small containers triggers such collections over and over (issue 21):
decoding and parsing in a load (`json.loads` of a nightly's 4,700 responses 0.09 -> 0.31 CPU-s),
dbt's Jinja macro objects and events in a build (~0.9 thread-s of a nightly `dbt build` in
collections, py-spy). `collector_skips_the_heap` moves the objects that exist when it starts out
of the collector's sight for the duration of that work.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_skips_the_heap() -> Iterator[None]:
    """While the block runs, the cyclic garbage collector ignores the objects that existed before it.

    Garbage the block makes is collected as before; the heap from before is handed back to the
    collector afterwards (so nothing that became garbage meanwhile leaks for good). Nothing is done
    when someone else froze the heap already (their freeze is theirs to undo)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
