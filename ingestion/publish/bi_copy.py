"""Publish the marts for BI tools: a read-only DuckDB copy plus Parquet, each swapped in atomically.

BI tools never open the working warehouse (a reader's lock would block the nightly writer). One
publish does, in this order, and swaps nothing until everything has been written and checked:

1. copy every table of schema `marts` into a private temporary DuckDB file written with
   `STORAGE_VERSION 'v1.5.0'` (BI drivers that bundle DuckDB 1.x can open it), plus one Parquet
   file per mart into a private temporary folder; tables and files are written by worker threads
   side by side (`_copy_table`, `_copy_to_parquet`);
2. write `main.publish_log` into that copy: the log of the previous copy carried forward plus one
   row per table of this publish (publish id, time, row count, git commit, run id, load ids);
3. re-open the temporary copy read-only and check every table's row count against the log;
4. swap: `os.replace(tmp, bi/socialpulse.duckdb)` (one atomic rename: a reader that opens the path
   gets the old file or the new one, never a mix; a reader that has the old file open keeps reading
   it), then the Parquet folder: `bi/parquet` is a symlink to `bi/parquet-versions/<publish_id>/`,
   replaced by another symlink with one atomic rename. The last few versions are kept so that a
   reader in the middle of a multi-file read can finish on the version it resolved.

If anything fails before step 4 the temporary files are removed and the previous copy stays, in
both forms. The DuckDB file and the Parquet folder are two separate swaps a few microseconds apart:
each is internally consistent (each carries its own `publish_log`), but a reader that mixes the
two forms can see them one publish apart during that window.

Parquet readers that read several marts and want one snapshot resolve the symlink once
(`os.path.realpath('bi/parquet')`) and read every file from the folder it names.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.core.settings import Settings

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
BI_FILE = "socialpulse.duckdb"
STORAGE_VERSION = "v1.5.0"
PARQUET_LINK = "parquet"  # bi/parquet -> parquet-versions/<publish_id> (contract: bi/parquet/<mart>.parquet)
PARQUET_VERSIONS = "parquet-versions"
LOG_TABLE = "publish_log"
KEEP_VERSIONS = 3
# Worker threads that write the copy's tables and the Parquet files side by side (2 cores: one
# writer per core; DuckDB runs each small statement on one thread anyway).
COPY_WORKERS = 2
# Row groups of the DuckDB copy: half of DuckDB's default 122,880 rows. A table smaller than one row
# group is compressed and written by the commit of its CTAS, one thread for the whole table; the
# daily marts hold ~120,000 rows (two years of the demo registry), so with the default the copy was
# written on one core. Half-size row groups are written as the CTAS fills them, on the worker that
# runs it. Readers see the same rows; DuckDB 1.5 reads any row group size (tests/bi/test_old_driver.py).
COPY_ROW_GROUP_SIZE = 61_440
# The latest publish of a log (ids of carried-forward legacy rows do not sort with the new ones).
LATEST_PUBLISH_SQL = f"select publish_id from main.{LOG_TABLE} order by published_at desc, publish_id desc limit 1"
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# One row per published table per publish; accumulates across publishes.
LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("publish_id", "varchar"),
    ("published_at", "timestamptz"),
    ("table_name", "varchar"),
    ("row_count", "bigint"),
    ("column_count", "integer"),
    ("storage_version", "varchar"),
    ("git_sha", "varchar"),
    ("run_id", "varchar"),
    ("load_ids", "varchar[]"),
    ("last_load_id", "varchar"),
    ("elapsed_s", "double"),
)


class PublishError(RuntimeError):
    """Publishing failed; the previously published copy is untouched."""


@dataclass
class PublishResult:
    """What was published, where."""

    path: str
    parquet_dir: str
    tables: dict[str, int]
    published_at: str
    publish_id: str = ""
    elapsed_s: float = 0.0
    git_sha: str | None = None
    run_id: str | None = None
    load_ids: list[str] = field(default_factory=list)
    parquet_version_dir: str = ""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def git_sha() -> str | None:
    """The commit of the code that publishes: `SOCIALPULSE_GIT_SHA`, else `git rev-parse HEAD`."""
    if sha := os.environ.get("SOCIALPULSE_GIT_SHA"):
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
            text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@contextlib.contextmanager
def _publish_lock(bi_dir: Path) -> Iterator[None]:
    """One publisher at a time (the Airflow writer pool already ensures it; this makes it certain)."""
    with open(bi_dir / ".publish.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _previous_log(con: duckdb.DuckDBPyConnection, final: Path, parquet_link: Path) -> str | None:
    """Attach the previous copy's log as a relation name to select from, or None on a first publish.

    The previous DuckDB copy is opened read-only (other readers may hold it; that is fine); when it
    cannot be opened, the log is taken from the published Parquet folder instead.
    """
    if final.exists():
        try:
            con.execute(f"attach {_sql_str(str(final))} as prev (read_only)")
            found = con.execute(
                "select count(*) from duckdb_tables() where database_name = 'prev' and schema_name = 'main' "
                "and table_name = ?", [LOG_TABLE],
            ).fetchone()[0]
            if found:
                return f"prev.main.{LOG_TABLE}"
        except duckdb.Error as exc:
            log.warning("previous BI copy %s unreadable (%s); taking its log from Parquet", final, exc)
    parquet_log = parquet_link / f"{LOG_TABLE}.parquet"
    if parquet_log.exists():
        return f"read_parquet({_sql_str(str(parquet_log))})"
    return None


def _carry_forward(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Copy the previous log into pub.main.publish_log, mapping older log shapes onto the current one."""
    columns = {r[0] for r in con.execute(f"select * from {source} limit 0").description}
    wanted = [name for name, _ in LOG_COLUMNS]
    if set(wanted) <= columns:
        con.execute(f"insert into pub.main.{LOG_TABLE} select {', '.join(wanted)} from {source}")
    elif {"published_at", "tables"} <= columns:  # the first shape: (published_at varchar, tables varchar)
        con.execute(
            f"insert into pub.main.{LOG_TABLE} (publish_id, published_at, table_name, storage_version) "
            f"select 'legacy-' || published_at, cast(published_at as timestamptz), unnest(string_split(tables, ',')), "
            f"'{STORAGE_VERSION}' from {source}"
        )
    else:
        log.warning("previous publish_log has an unknown shape %s; not carried forward", sorted(columns))


def _load_ids(con: duckdb.DuckDBPyConnection, since: datetime | None) -> tuple[list[str], str | None]:
    """Committed loads since the previous publish, and the latest committed load overall."""
    has_loads = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'src' and schema_name = 'raw' "
        "and table_name = 'loads'"
    ).fetchone()[0]
    if not has_loads:
        return [], None
    rows = con.execute(
        "select load_id, committed_at from src.raw.loads where status = 'committed' order by committed_at, load_id"
    ).fetchall()
    last = rows[-1][0] if rows else None
    new = [r[0] for r in rows if since is None or (r[1] is not None and r[1] > since)]
    return new, last


def _prune_versions(versions: Path, keep: int, current: str) -> None:
    # Oldest first; a folder moved aside from before versioned publishing counts as the oldest.
    names = sorted((p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   key=lambda n: (not n.startswith("legacy-"), n))
    for name in names[:-keep] if keep > 0 else names:
        if name != current:
            shutil.rmtree(versions / name, ignore_errors=True)
    for stale in versions.glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def _swap_parquet_link(bi_dir: Path, publish_id: str) -> None:
    """Point bi/parquet at parquet-versions/<publish_id> with one atomic rename of a symlink."""
    link = bi_dir / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        # A folder from before versioned publishing: move it aside once (a short window without
        # bi/parquet, only on the first publish after the upgrade).
        os.replace(link, bi_dir / PARQUET_VERSIONS / f"legacy-{publish_id}")
    tmp_link = bi_dir / f".{PARQUET_LINK}.{publish_id}.lnk"
    tmp_link.unlink(missing_ok=True)
    os.symlink(f"{PARQUET_VERSIONS}/{publish_id}", tmp_link, target_is_directory=True)
    os.replace(tmp_link, link)


def publish(
    settings: Settings,
    *,
    run_id: str | None = None,
    load_ids: Sequence[str] | None = None,
    keep_versions: int = KEEP_VERSIONS,
) -> PublishResult:
    """Copy every table of schema `marts` into the BI file and Parquet, then swap both in atomically.

    `load_ids` defaults to the loads the warehouse committed since the previous publish. Raises
    `PublishError` (the previous copy stays) when there is nothing to publish or any step fails.
    """
    started = time.perf_counter()
    bi_dir = settings.bi_dir
    versions = bi_dir / PARQUET_VERSIONS
    bi_dir.mkdir(parents=True, exist_ok=True)
    with _publish_lock(bi_dir):
        versions.mkdir(exist_ok=True)
        now = datetime.now(UTC)
        publish_id = now.strftime("%Y%m%dT%H%M%S%fZ")
        final = bi_dir / BI_FILE
        tmp = bi_dir / f".{BI_FILE}.{publish_id}.tmp"
        parquet_tmp = versions / f".{publish_id}.tmp"
        for stale in [*bi_dir.glob(f".{BI_FILE}.*.tmp*"), *bi_dir.glob(f".{PARQUET_LINK}.*.lnk")]:
            stale.unlink(missing_ok=True)  # left by a crashed publish
        swapped = False
        try:
            tables, ids, sha = _write(settings, now, publish_id, tmp, parquet_tmp, final, run_id, load_ids,
                                      started)
            _verify(tmp, tables)
            os.replace(parquet_tmp, versions / publish_id)
            Path(f"{final}.wal").unlink(missing_ok=True)  # a stale WAL would be replayed onto the new file
            os.replace(tmp, final)  # the atomic swap: readers see old or new, never a mix
            swapped = True
            _swap_parquet_link(bi_dir, publish_id)
        except BaseException as exc:
            for leftover in (tmp, Path(f"{tmp}.wal")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(parquet_tmp, ignore_errors=True)
            link = bi_dir / PARQUET_LINK
            if not (link.is_symlink() and Path(os.readlink(link)).name == publish_id):
                shutil.rmtree(versions / publish_id, ignore_errors=True)
            if isinstance(exc, PublishError | KeyboardInterrupt | SystemExit):
                raise
            if swapped:  # only the Parquet link could not be swapped: say exactly what readers see
                raise PublishError(f"publish {publish_id}: DuckDB copy published, but the Parquet folder still "
                                   f"shows the previous publish: {exc}") from exc
            raise PublishError(f"publish {publish_id} failed, previous copy kept: {exc}") from exc
        with contextlib.suppress(OSError):
            _fsync_dir(bi_dir)
            _prune_versions(versions, keep_versions, publish_id)
    elapsed = time.perf_counter() - started
    log.info("published %d marts (%d rows) as %s in %.2fs", len(tables), sum(tables.values()), publish_id, elapsed)
    return PublishResult(
        path=str(final), parquet_dir=str(bi_dir / PARQUET_LINK), tables=tables, published_at=now.isoformat(),
        publish_id=publish_id, elapsed_s=round(elapsed, 4), git_sha=sha, run_id=run_id, load_ids=ids,
        parquet_version_dir=str(versions / publish_id),
    )


def _copy_table(con: duckdb.DuckDBPyConnection, name: str) -> tuple[int, int]:
    """CTAS of one mart into the copy on a cursor of its own; returns its rows and columns."""
    src, dst = f"src.{MARTS_SCHEMA}.{_quote(name)}", f"pub.{MARTS_SCHEMA}.{_quote(name)}"
    cursor = con.cursor()
    try:
        cursor.execute(f"create table {dst} as select * from {src}")
        rows = cursor.execute(f"select count(*) from {dst}").fetchone()[0]
        return rows, len(cursor.execute(f"select * from {dst} limit 0").description)
    finally:
        cursor.close()


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
    """One mart's Parquet file, from the warehouse on a cursor of its own: the same read-only
    relation in the same scan order as the copy's table, so both hold the same rows."""
    cursor = con.cursor()
    try:
        cursor.execute(f"copy (select * from src.{MARTS_SCHEMA}.{_quote(name)}) to {_sql_str(str(path))} "
                       "(format parquet)")
    finally:
        cursor.close()


@contextlib.contextmanager
def _workers() -> Iterator[ThreadPoolExecutor]:
    """The copy's worker threads. On an error, what has not started is cancelled and what runs
    finishes before the caller removes the temporary files."""
    pool = ThreadPoolExecutor(max_workers=COPY_WORKERS, thread_name_prefix="publish")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _copy_marts(con: duckdb.DuckDBPyConnection, names: Sequence[str], parquet_tmp: Path
                ) -> tuple[dict[str, int], dict[str, int]]:
    """Step 1: every mart into the copy and into Parquet; returns rows and columns per mart."""
    tables: dict[str, int] = {}
    columns: dict[str, int] = {}
    with _workers() as pool:
        copies = {name: pool.submit(_copy_table, con, name) for name in names}
        files: list[Future] = [pool.submit(_copy_to_parquet, con, name, parquet_tmp / f"{name}.parquet")
                               for name in names]
        for name, copy in copies.items():
            tables[name], columns[name] = copy.result()
        for written in files:
            written.result()
    return tables, columns


def _write(
    settings: Settings, now: datetime, publish_id: str, tmp: Path, parquet_tmp: Path, final: Path,
    run_id: str | None, load_ids: Sequence[str] | None, started: float,
) -> tuple[dict[str, int], list[str], str | None]:
    """Steps 1-2: the temporary DuckDB copy with its publish_log, and the temporary Parquet folder."""
    parquet_tmp.mkdir()
    con = duckdb.connect()
    try:
        con.execute(f"attach {_sql_str(str(settings.warehouse))} as src (read_only)")
        con.execute(f"attach {_sql_str(str(tmp))} as pub (storage_version '{STORAGE_VERSION}', "
                    f"row_group_size {COPY_ROW_GROUP_SIZE})")
        names = [
            r[0] for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'src' and schema_name = ? "
                "union all select view_name from duckdb_views() where database_name = 'src' and schema_name = ? "
                "order by 1", [MARTS_SCHEMA, MARTS_SCHEMA],  # views too: fct_data_quality_findings
            ).fetchall()
        ]
        if not names:
            raise PublishError("nothing to publish: the warehouse has no tables in schema 'marts'")
        unsafe = [n for n in names if not _SAFE_NAME.match(n) or n == LOG_TABLE]
        if unsafe:
            raise PublishError(f"mart names not publishable as files/tables: {unsafe}")
        con.execute(f"create schema pub.{MARTS_SCHEMA}")
        tables, columns = _copy_marts(con, names, parquet_tmp)

        con.execute(
            f"create table pub.main.{LOG_TABLE} ({', '.join(f'{n} {t}' for n, t in LOG_COLUMNS)})"
        )
        previous = _previous_log(con, final, settings.bi_dir / PARQUET_LINK)
        since = None
        if previous is not None:
            _carry_forward(con, previous)
            since = con.execute(f"select max(published_at) from pub.main.{LOG_TABLE}").fetchone()[0]
        with contextlib.suppress(duckdb.Error):
            con.execute("detach prev")
        new_ids, last_load = _load_ids(con, since)
        ids = list(load_ids) if load_ids is not None else new_ids
        sha = git_sha()
        elapsed = round(time.perf_counter() - started, 4)
        rows = [
            (publish_id, now, name, tables[name], columns[name], STORAGE_VERSION, sha, run_id, ids, last_load, elapsed)
            for name in names
        ]
        con.executemany(f"insert into pub.main.{LOG_TABLE} values ({', '.join('?' * len(LOG_COLUMNS))})", rows)
        con.execute(
            f"copy pub.main.{LOG_TABLE} to {_sql_str(str(parquet_tmp / (LOG_TABLE + '.parquet')))} (format parquet)"
        )
        con.execute("detach pub")
        con.execute("detach src")
    finally:
        con.close()
    return tables, ids, sha


def _verify(tmp: Path, tables: dict[str, int]) -> None:
    """Step 3: re-open the written copy read-only; every table must hold the rows the log says."""
    con = duckdb.connect(str(tmp), read_only=True)
    try:
        latest = dict(con.execute(
            f"select table_name, row_count from main.{LOG_TABLE} where publish_id = ({LATEST_PUBLISH_SQL})"
        ).fetchall())
        found = {
            name: con.execute(f"select count(*) from {MARTS_SCHEMA}.{_quote(name)}").fetchone()[0]
            for name in tables
        }
    finally:
        con.close()
    if latest != tables or found != tables:
        raise PublishError(f"verification failed: log {latest}, tables {found}, expected {tables}")


def published_snapshot(settings: Settings) -> dict[str, int]:
    """Row count per table of the latest publish, from the published copy's own log."""
    con = duckdb.connect(str(settings.bi_dir / BI_FILE), read_only=True)
    try:
        return dict(con.execute(
            f"select table_name, row_count from main.{LOG_TABLE} where publish_id = ({LATEST_PUBLISH_SQL})"
        ).fetchall())
    finally:
        con.close()
