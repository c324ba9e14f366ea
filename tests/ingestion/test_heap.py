"""ingestion.core.heap: what the collector sees around a load or a dbt invocation, and after a preload.

Each case runs in a fresh interpreter: freezing is process-wide and a lifelong freeze cannot be undone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_block_freezes_the_heap_and_hands_it_back_nested_blocks_leave_that_to_the_outer_one():
    out = _run("""
        import gc
        from ingestion.core.heap import collector_skips_the_heap
        gc.unfreeze()
        before = gc.get_freeze_count()
        with collector_skips_the_heap():
            outer = gc.get_freeze_count()
            with collector_skips_the_heap():
                pass
            after_inner = gc.get_freeze_count()
        print(before, outer > 0, after_inner == outer, gc.get_freeze_count())
    """)
    assert out == "0 True True 0"


def test_after_a_lifelong_freeze_a_block_neither_freezes_again_nor_unfreezes():
    out = _run("""
        import gc
        from ingestion.core.heap import collector_skips_the_heap, freeze_for_life
        freeze_for_life()
        frozen = gc.get_freeze_count()
        with collector_skips_the_heap():
            inside = gc.get_freeze_count()
        print(frozen > 0, inside == frozen, gc.get_freeze_count() == frozen)
    """)
    assert out == "True True True"


def test_garbage_made_inside_a_block_is_still_collected():
    out = _run("""
        import gc, weakref
        from ingestion.core.heap import collector_skips_the_heap
        class Node: pass
        with collector_skips_the_heap():
            a = Node(); a.me = a; ref = weakref.ref(a); del a
            gc.collect()
            print(ref() is None)
    """)
    assert out == "True"
