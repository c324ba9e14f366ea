"""Landing files: the verbatim responses of a run, written by fetch tasks, read by the loader.

Layout: `<landing>/<run_id>/<platform>/<chunk>.jsonl` (one response record per line) and
`<chunk>.status.json` (per-account outcome). Files are written to a temporary name and renamed, so
the loader never sees a half-written chunk. The loader streams them (`read_record_batches`): a
slice of records at a time, each with its line as landed, so a backfill is never decoded whole.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

_SAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def safe_name(text: str) -> str:
    """A file-system-safe version of a run id (Airflow run ids contain ':' and '+')."""
    return _SAFE.sub("_", text)


def run_dir(landing: Path, run_id: str) -> Path:
    """The folder that holds one run's landing files."""
    return landing / safe_name(run_id)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _default(value: Any) -> str:
    if isinstance(value, date):  # dates and datetimes
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_chunk(
    landing: Path, run_id: str, platform: str, chunk: str, records: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
) -> Path:
    """Write one chunk's responses and account statuses; returns the .jsonl path."""
    folder = run_dir(landing, run_id) / platform
    data_path = folder / f"{chunk}.jsonl"
    _atomic_write(data_path, "".join(json.dumps(r, default=_default) + "\n" for r in records))
    _atomic_write(folder / f"{chunk}.status.json", json.dumps(statuses, default=_default, indent=1))
    return data_path


def read_records(landing: Path, run_id: str, platform: str) -> Iterator[dict[str, Any]]:
    """Every landed response record of one platform in one run."""
    folder = run_dir(landing, run_id) / platform
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def read_record_batches(landing: Path, run_id: str, platform: str, size: int
                        ) -> Iterator[tuple[list[str], list[dict[str, Any]]]]:
    """The landed records of one platform in one run, `size` at a time in landing order, each with
    its line as landed (the loader streams them, so a backfill is never decoded whole)."""
    folder = run_dir(landing, run_id) / platform
    lines: list[str] = []
    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    lines.append(line)
                    records.append(json.loads(line))
                    if len(records) >= size:
                        yield lines, records
                        lines, records = [], []
    if records:
        yield lines, records


def read_statuses(landing: Path, run_id: str, platform: str) -> list[dict[str, Any]]:
    """Per-account fetch outcomes of one platform in one run."""
    folder = run_dir(landing, run_id) / platform
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.status.json")):
        out.extend(json.loads(path.read_text(encoding="utf-8")))
    return out


def platforms_landed(landing: Path, run_id: str) -> list[str]:
    """Platforms that have landing files in a run."""
    folder = run_dir(landing, run_id)
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
