"""Child-process entry points for the crash and overlap drills: `python -m tests.drills.hooks KIND ...`.

Each one runs real pipeline code and, once, pauses at a real point of danger after writing
`$DRILL_MARKER` (its pid), so the parent can `kill -9` it exactly there (or let it continue after
`$DRILL_PAUSE_S`):

- `load RUN_ID PLATFORM`: `load.load_run`, paused inside the load transaction after every insert
  (the `raw.loads` row is written but not committed) - the last statement before `commit`;
- `cli ARGS...`: the `socialpulse` CLI, paused the same way in its first load;
- `publish RUN_ID POINT`: `publish.publish`, paused at POINT: `copy` (half the marts copied into the
  temporary BI file), `verify` (everything written, nothing swapped), `swap_parquet` (the DuckDB file
  swapped in, the Parquet link not yet).
Without `DRILL_MARKER` nothing pauses.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _pause() -> None:
    marker = os.environ.get("DRILL_MARKER")
    if not marker or Path(marker).exists():
        return
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get("DRILL_PAUSE_S", "600")))


def _pause_in_load_transaction() -> None:
    from ingestion.gates import quality

    original = quality.record_validation

    def record_validation(con, result):
        out = original(con, result)
        # Inside `load._commit` this runs after every insert, just before `commit`.
        pending = con.execute("select count(*) from raw.loads where load_id = ?", [result.load_id]).fetchone()[0]
        if pending:
            _pause()
        return out

    quality.record_validation = record_validation


def _pause_in_publish(point: str) -> None:
    from ingestion.publish import bi_copy as publish

    if point == "copy":
        original_quote, calls = publish._quote, [0]

        def quote(identifier: str) -> str:
            calls[0] += 1
            if calls[0] == 6:  # the 3rd mart of the copy loop (2 quotes per mart)
                _pause()
            return original_quote(identifier)

        publish._quote = quote
    elif point == "verify":
        original_verify = publish._verify

        def verify(tmp, tables):
            original_verify(tmp, tables)
            _pause()

        publish._verify = verify
    elif point == "swap_parquet":
        original_swap = publish._swap_parquet_link

        def swap(bi_dir, publish_id):
            _pause()
            original_swap(bi_dir, publish_id)

        publish._swap_parquet_link = swap
    else:
        raise SystemExit(f"unknown publish pause point {point!r}")


def main(argv: list[str]) -> int:
    kind, args = argv[0], argv[1:]
    if kind == "load":
        from ingestion.core.registry import load_registry
        from ingestion.core.settings import load_settings
        from ingestion.load import loader as load

        _pause_in_load_transaction()
        settings = load_settings()
        result = load.load_run(settings, load_registry(settings.accounts), args[0], args[1])
        print(result.status, result.observations, flush=True)
        return 0
    if kind == "cli":
        from ingestion.cli import main as cli_main

        _pause_in_load_transaction()
        return cli_main(args)
    if kind == "publish":
        from ingestion.core.settings import load_settings
        from ingestion.publish import bi_copy as publish

        _pause_in_publish(args[1])
        result = publish.publish(load_settings(), run_id=args[0])
        print(result.publish_id, flush=True)
        return 0
    raise SystemExit(f"unknown drill kind {kind!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
