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

# Whether this process's heap is frozen already: by freeze_for_life (a worker's preload, inherited by
# its forked tasks) or by an enclosing collector_skips_the_heap. A flag and not gc.get_freeze_count():
# that call walks the whole frozen list, ~0.03 s for a worker's ~400,000 preloaded objects, and the
# nightly asks once per load and per dbt invocation (issue 21).
_frozen = False


def freeze_for_life() -> None:
    """Collect, then freeze every object alive now for the rest of the process (and of the children
    it forks): what a long-lived worker does once after its preload."""
    global _frozen
    gc.collect()
    gc.freeze()
    _frozen = True


@contextlib.contextmanager
def collector_skips_the_heap() -> Iterator[None]:
    """While the block runs, the cyclic garbage collector ignores the objects that existed before it.

    Garbage the block makes is collected as before; the heap from before is handed back to the
    collector afterwards (so nothing that became garbage meanwhile leaks for good). Nothing is done
    when the heap is frozen already (for life, or by an enclosing block: that freeze is theirs to
    undo)."""
    global _frozen
    if _frozen:
        yield
        return
    gc.freeze()
    _frozen = True
    try:
        yield
    finally:
        gc.unfreeze()
        _frozen = False
