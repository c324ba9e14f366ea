"""Landing files: the verbatim responses of a run, written by fetch tasks, read by the loader.

Layout: `<landing>/<run_id>/<platform>/<chunk>.jsonl` (one response record per line) and
`<chunk>.status.json` (per-account outcome). Files are written to a temporary name and renamed, so
the loader never sees a half-written chunk. The fetch streams a chunk's responses to disk as they
arrive (`ChunkWriter`), so its memory does not grow with the chunk; the loader streams them back
(`read_line_batches`): a slice of lines at a time, decoded where the slice is parsed, so a backfill
is never decoded whole.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
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


def encode_record(record: dict[str, Any], body_text: str | None = None) -> bytes:
    """One landing line (the loader slices the body's JSON text out of it: keep `json.dumps`'s
    default separators and the body last, see ingestion/load/loader.py `_body_json`).

    `body_text`: the JSON text `record["body"]` was decoded from (one line, `http.one_line_json`),
    written in the body's place instead of encoding the decoded body again: the same JSON value,
    and encoding bodies was the largest CPU cost of a backfill's fetch after the network (issue 21).
    """
    if body_text is None or next(reversed(record), None) != "body":
        return (json.dumps(record, default=_default) + "\n").encode("utf-8")
    head = json.dumps({k: v for k, v in record.items() if k != "body"}, default=_default)
    return f'{head[:-1]}, "body": {body_text}}}\n'.encode()


# Encoded lines a ChunkWriter keeps in memory before it appends them to its spool file.
SPOOL_FLUSH_BYTES = 8 * 2**20


class ChunkWriter:
    """One chunk's landing file, written while the fetch runs instead of after it (issue 21).

    Holding a whole chunk's decoded responses until the chunk ended was 1.8 GiB of a two-year
    backfill's fetch (50 accounts). Now each record is encoded as it arrives, kept per account
    until `SPOOL_FLUSH_BYTES` are pending, then appended to a spool file next to the landing file
    (each account's pending lines as one run of bytes, whose place is remembered). `commit` then
    writes `<chunk>.jsonl` exactly as `write_chunk` would: only the accounts it is given, in that
    order, each account's records in arrival order, by copying their runs from the spool (a rename
    when the spool is already that file), fsynced and renamed into place, then the status file.
    Until then the loader sees nothing: the spool is `<chunk>.jsonl.tmp`, the name a killed
    `write_chunk` left behind too (never read, replaced by the next attempt).
    """

    def __init__(self, landing: Path, run_id: str, platform: str, chunk: str) -> None:
        self.folder = run_dir(landing, run_id) / platform
        self.path = self.folder / f"{chunk}.jsonl"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._spool_path = self.path.with_suffix(".jsonl.tmp")
        self._spool = self._spool_path.open("wb")
        self._pending: dict[str, list[bytes]] = {}
        self._pending_bytes = 0
        self._runs: dict[str, list[tuple[int, int]]] = {}  # account -> (offset, length) in the spool
        self._count: Counter = Counter()  # records per account

    def add(self, account_id: str, record: dict[str, Any], body_text: str | None = None) -> None:
        """Take one record of `account_id` (encoded now: the caller may drop the dict); `body_text`
        as in `encode_record`."""
        line = encode_record(record, body_text)
        self._pending.setdefault(account_id, []).append(line)
        self._count[account_id] += 1
        self._pending_bytes += len(line)
        if self._pending_bytes >= SPOOL_FLUSH_BYTES:
            self._flush()

    def drop(self, account_id: str) -> None:
        """Forget the pending lines of an account that failed (they will never land)."""
        self._pending_bytes -= sum(len(line) for line in self._pending.pop(account_id, ()))

    def _flush(self) -> None:
        for account_id, lines in self._pending.items():
            data = b"".join(lines)
            self._runs.setdefault(account_id, []).append((self._spool.tell(), len(data)))
            self._spool.write(data)
        self._pending, self._pending_bytes = {}, 0

    def commit(self, accounts: list[str], statuses: list[dict[str, Any]]) -> int:
        """Land the records of `accounts` (in that order) and the statuses; returns how many records
        landed. Atomic like `write_chunk`: the data file, then the status file."""
        self._flush()
        self._spool.flush()
        runs = [run for account_id in accounts for run in self._runs.get(account_id, ())]
        if _contiguous(runs, self._spool.tell()):
            self._spool.close()
            _fsync_rename(self._spool_path, self.path)
        else:
            ordered = self.path.with_suffix(".jsonl.tmp-ordered")
            with ordered.open("wb") as out:
                for offset, length in runs:
                    _copy_range(self._spool, out, offset, length)
            self._spool.close()
            _fsync_rename(ordered, self.path)
            self._spool_path.unlink(missing_ok=True)
        _atomic_write(self.folder / f"{self.path.stem}.status.json", json.dumps(statuses, default=_default, indent=1))
        return sum(self._count[a] for a in accounts)

    def discard(self) -> None:
        """Remove the spool (the fetch failed before its commit: nothing lands)."""
        if not self._spool.closed:
            self._spool.close()
        self._spool_path.unlink(missing_ok=True)
        self.path.with_suffix(".jsonl.tmp-ordered").unlink(missing_ok=True)


def _contiguous(runs: list[tuple[int, int]], size: int) -> bool:
    """Do the runs, in order, make up the whole spool (so the spool is the landing file as is)?"""
    at = 0
    for offset, length in runs:
        if offset != at:
            return False
        at += length
    return at == size


def _copy_range(source, target, offset: int, length: int) -> None:
    """Append `length` bytes of `source` from `offset` to `target` (in the kernel where it can)."""
    target.flush()
    while length > 0:
        try:
            sent = os.copy_file_range(source.fileno(), target.fileno(), length, offset)
        except OSError:
            sent = 0
        if sent <= 0:  # not supported here (or across file systems): through user space
            source.flush()
            with open(source.name, "rb") as fh:
                fh.seek(offset)
                while length > 0:
                    data = fh.read(min(length, 2**20))
                    target.write(data)
                    length -= len(data)
            target.flush()
            return
        offset += sent
        length -= sent


def _fsync_rename(tmp: Path, path: Path) -> None:
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_chunk(
    landing: Path, run_id: str, platform: str, chunk: str, records: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
) -> Path:
    """Write one chunk's responses (in this order) and account statuses; returns the .jsonl path."""
    writer = ChunkWriter(landing, run_id, platform, chunk)
    try:
        for record in records:
            writer.add("", record)  # one run: the records stay in the order given
        writer.commit([""], statuses)
    finally:
        writer.discard()
    return writer.path


def read_records(landing: Path, run_id: str, platform: str) -> Iterator[dict[str, Any]]:
    """Every landed response record of one platform in one run."""
    folder = run_dir(landing, run_id) / platform
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def read_line_batches(landing: Path, run_id: str, platform: str, size: int) -> Iterator[list[str]]:
    """The landed lines of one platform in one run, `size` records at a time in landing order, not
    decoded (the loader decodes each slice where it parses it, possibly in a worker process)."""
    folder = run_dir(landing, run_id) / platform
    lines: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    lines.append(line)
                    if len(lines) >= size:
                        yield lines
                        lines = []
    if lines:
        yield lines


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
