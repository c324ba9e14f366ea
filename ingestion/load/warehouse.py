"""The warehouse schema and the only place that opens the DuckDB file for writing.

DuckDB allows one read-write process at a time, so every writer goes through `connect()` here and
every Airflow task that calls it runs in the `duckdb_writer` pool. Raw tables are append-only:
re-fetching a day adds a newer observation and staging picks the latest one, so restatements stay
measurable and any day can be re-derived from `raw.responses` without calling the APIs again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

# How long a writer waits for another one (another `socialpulse` command, an Airflow task, dbt)
# before it refuses with `WarehouseBusy`; override with SOCIALPULSE_WRITER_WAIT_S.
DEFAULT_WRITER_WAIT_S = 60.0
WRITER_LOCK = "writer.lock"


class WarehouseBusy(RuntimeError):
    """Another process writes the warehouse and did not finish within the bounded wait."""


def writer_wait_s() -> float:
    """Seconds a writer waits for the warehouse (SOCIALPULSE_WRITER_WAIT_S, default 60)."""
    try:
        return max(0.0, float(os.environ.get("SOCIALPULSE_WRITER_WAIT_S", DEFAULT_WRITER_WAIT_S)))
    except ValueError:
        return DEFAULT_WRITER_WAIT_S


@contextlib.contextmanager
def writer_lock(home: Path, wait_s: float | None = None, what: str = "") -> Iterator[None]:
    """Hold `$SOCIALPULSE_HOME/writer.lock` for a whole writing command (run, ingest, backfill, ...).

    A second command waits up to `wait_s` for the first one, then raises `WarehouseBusy` naming the
    holder (pid, command, start time). The lock is released when the process ends, even by kill -9.
    """
    wait_s = writer_wait_s() if wait_s is None else wait_s
    home.mkdir(parents=True, exist_ok=True)
    path = home / WRITER_LOCK
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        deadline, announced = time.monotonic() + wait_s, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"the warehouse in {home} is being written by {holder}; waited {wait_s:.0f} s, "
                        f"nothing was done. Try again when it has finished (or raise SOCIALPULSE_WRITER_WAIT_S)."
                    ) from None
                if not announced:
                    print(f"socialpulse: waiting up to {wait_s:.0f} s for {holder} to finish writing {home}",
                          file=sys.stderr, flush=True)
                    announced = True
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({what or 'socialpulse'}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z)")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()

# One statement per table; `create ... if not exists` keeps `ensure_schema` idempotent.
RAW_DDL: tuple[str, ...] = (
    "create schema if not exists raw",
    # One row per committed (or rejected) load: the unit of atomicity.
    """
    create table if not exists raw.loads (
        load_id varchar primary key,
        run_id varchar,
        started_at timestamptz,
        committed_at timestamptz,
        status varchar,                -- committed | quarantined
        n_responses integer,
        n_observations integer,
        n_accounts integer,
        business_date_min date,
        business_date_max date
    )
    """,
    # Every API response verbatim, with the request that produced it (tokens redacted).
    """
    create table if not exists raw.responses (
        load_id varchar not null,
        response_id varchar not null,
        platform varchar not null,
        account_id varchar not null,
        endpoint varchar not null,      -- node | insights | ...
        request_url varchar not null,   -- redacted
        request_params json,            -- redacted
        api_version varchar,
        http_status integer,
        fetched_at timestamptz not null,
        usage_headers json,
        body json,
        object_type varchar,            -- account | post | media (what the call measured)
        object_id varchar
    )
    """,
    # Parsed observations, append-only (bitemporal: metric_date x observed_at).
    """
    create table if not exists raw.observations (
        load_id varchar not null,
        response_id varchar not null,
        platform varchar not null,      -- facebook | instagram | youtube | snapchat
        account_id varchar not null,
        object_type varchar not null,   -- account | post | media | video
        object_id varchar not null,     -- = account_id for account-level metrics
        source varchar not null,        -- insights | node
        metric_name varchar not null,
        period varchar not null,        -- day | week | days_28 | lifetime | snapshot
        metric_type varchar not null,   -- time_series | total_value | node
        dimension varchar not null,     -- '' when the value has no breakdown
        dimension_value varchar not null,
        metric_date date not null,      -- the platform day measured (Pacific for Meta)
        end_time timestamptz,           -- as delivered by the platform, when it has one
        value double not null,
        observed_at timestamptz not null
    )
    """,
    # Content metadata (posts, media, videos); latest per (platform, object_id) wins.
    """
    create table if not exists raw.objects (
        load_id varchar not null,
        response_id varchar not null,
        platform varchar not null,
        account_id varchar not null,
        object_type varchar not null,
        object_id varchar not null,
        published_at timestamptz,
        content_type varchar,
        product_type varchar,
        permalink varchar,
        caption varchar,
        observed_at timestamptz not null
    )
    """,
    # What happened to each account in each run (health as data).
    """
    create table if not exists raw.account_runs (
        run_id varchar not null,
        load_id varchar,
        platform varchar not null,
        account_id varchar not null,
        status varchar not null,        -- ok | failed | partial
        error_class varchar,
        error_code integer,
        error_subcode integer,
        message varchar,
        fbtrace_id varchar,
        requests integer,
        retired_metrics varchar[],
        since date,
        until date,
        finished_at timestamptz
    )
    """,
    # The coverage ledger: which ranges of which endpoint/metric were fetched, when, with what outcome.
    """
    create table if not exists raw.coverage (
        platform varchar not null,
        account_id varchar not null,
        endpoint varchar not null,
        metric_name varchar not null,
        since date not null,
        until date not null,
        fetched_at timestamptz not null,
        load_id varchar,
        outcome varchar not null        -- ok | failed | retired
    )
    """,
    # Token health from debug_token; token_ref names the variable/connection, never the token.
    """
    create table if not exists raw.tokens (
        checked_at timestamptz not null,
        token_ref varchar not null,
        platform varchar not null,
        is_valid boolean,
        expires_at timestamptz,
        data_access_expires_at timestamptz,
        scopes varchar[],
        missing_scopes varchar[]
    )
    """,
    # Metrics the platform refused as retired/invalid, detected at run time.
    """
    create table if not exists raw.metric_registry_events (
        detected_at timestamptz not null,
        platform varchar not null,
        metric_name varchar not null,
        error_code integer,
        message varchar,
        run_id varchar
    )
    """,
    # Every GX validation run (load gate and mart gate).
    """
    create table if not exists raw.validation_runs (
        validated_at timestamptz not null,
        run_id varchar,
        load_id varchar,
        suite varchar not null,
        success boolean not null,
        evaluated integer,
        failed integer,
        raised integer,
        rows bigint,
        gx_seconds double,
        docs_path varchar
    )
    """,
    # The organisation from the registry (replaced by each load).
    """
    create table if not exists raw.organisation (
        name varchar not null,
        timezone varchar not null,
        population integer,            -- NULL when the registry leaves it out
        population_by_age json,
        loaded_at timestamptz not null
    )
    """,
    # The account registry as of the latest load (replaced in the same transaction).
    """
    create table if not exists raw.accounts (
        platform varchar not null,
        account_id varchar not null,
        name varchar not null,
        department varchar not null,
        audience varchar[],
        active_from date,
        active_until date,
        linked_account_id varchar,
        loaded_at timestamptz not null
    )
    """,
)


# The mart gate's findings (ingestion/gates/mart_gate.py rewrites the table on each run). Its own schema:
# every relation in `marts` is a dbt model, and `marts.fct_data_quality_findings` is a view on this
# table (dbt source `quality`), so the table must exist before the first dbt build binds the view.
QUALITY_DDL: tuple[str, ...] = (
    "create schema if not exists quality",
    """
    create table if not exists quality.data_quality_findings (
        found_at timestamptz,
        check_name varchar,
        severity varchar,              -- error (blocks publish) | warning
        platform varchar,
        account_id varchar,
        metric_date date,
        metric varchar,
        value double,
        expected double,
        detail varchar
    )
    """,
)


def warehouse_path(home: Path) -> Path:
    """Where the working warehouse lives (contract: `$SOCIALPULSE_HOME/warehouse.duckdb`)."""
    return home / "warehouse.duckdb"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; creates the folder and the raw schema when writing."""
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + writer_wait_s()
    while True:  # DuckDB has one writer process: wait for the other one (bounded), never a lock traceback
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse {path} is held by another writer ({exc}); "
                                    f"waited {writer_wait_s():.0f} s, nothing was written") from None
            time.sleep(0.5)
    ensure_schema(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables (and the mart gate's findings table) if they do not exist yet."""
    from ingestion.load.peer_schema import PEER_DDL  # peer snapshots (issue 22), docs/peers.md

    for ddl in (*RAW_DDL, *PEER_DDL, *QUALITY_DDL):
        con.execute(ddl)
    # Warehouses created before population became optional (idempotent in DuckDB).
    con.execute("alter table raw.organisation alter column population drop not null")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on `con`: committed when the block ends, rolled back when it raises.

    Why one helper: the begin/commit/rollback dance was written out at every writer; a commit that
    failed has already ended the transaction, so the rollback after it must not raise again.
    """
    con.execute("begin transaction")
    try:
        yield con
        con.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("rollback")
        raise
