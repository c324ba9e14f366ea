"""Load: landing files -> parse -> load gate -> one transaction into the raw tables.

The one writer of raw data. A load is atomic (all of a run's platform batch or nothing) and
idempotent (its load id is derived from the run and platform; loading the same landing batch twice
is a no-op). A batch that fails the gate is moved to quarantine intact with its validation result
and nothing is committed. An account whose responses cannot be parsed is cut out of the batch and
reported; the other accounts load.

How a batch flows (bounded memory, one transaction):
- the landing files are read `BATCH_RECORDS` responses at a time; each slice is parsed (per
  account, as before), its observations become an Arrow table with a fixed schema, and its
  responses (params, usage headers and bodies as JSON text, byte for byte what `json.dumps` gave
  before; see `_body_json`) are written to a Parquet file in `$SOCIALPULSE_HOME/.load-staging/`;
  the decoded JSON of a slice is dropped before the next one is read, so a two-year backfill is
  never held in memory whole (peak RSS 4.1-4.4 GiB -> 1.45 GiB, bench/README.md); a large batch (a
  backfill) is staged by two worker processes, slice by slice in landing order (`_stage_in_workers`:
  decoding and parsing are pure Python, one core per process);
- after the last slice, the accounts that must not load (unparseable, or empty insights) are cut
  out; the gate validates the observations as one pandas frame made from the Arrow tables
  (`observations_frame`: same dtypes as the row-wise frame it replaces);
- a passing batch is committed in one transaction (`_commit`): the staged responses (DuckDB reads
  the Parquet files), that very frame (as Arrow), objects, health, ledger, registry, the `raw.loads`
  row and the validation history; the staging files are deleted whatever happens. DuckDB's buffer
  pool is capped (`DUCKDB_MEMORY_LIMIT`) for the load, so the commit spills instead of growing;
- memory (issue 21: <= 1 GiB in every process of a two-year backfill): each step's big objects are
  dropped as soon as the next one holds the data (staged Arrow -> frame -> Arrow for the insert),
  and what they freed is handed back to the OS (`_release_freed_memory`) before the next step
  grows, so the gate and DuckDB's commit never stack on the heap the staging left behind.
Rows whose types Arrow refuses (only from a broken parser) take the previous row-wise pandas path,
so the schema suite still sees and reports them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import logging
import multiprocessing
import os
import shutil
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.core.heap import collector_skips_the_heap
from ingestion.core.metrics import known_metrics
from ingestion.core.platforms import META
from ingestion.core.registry import Registry
from ingestion.core.settings import Settings
from ingestion.extract import landing
from ingestion.gates import load_gate, quality
from ingestion.gates.quarantine_store import store as quarantine_batch
from ingestion.load.empty_insights import (
    FOLLOWER_FIELDS,
    MIN_FOLLOWERS_FOR_INSIGHTS,
    empty_insights_message,
    empty_insights_metric,
)
from ingestion.load.warehouse import connect, transaction
from ingestion.sources.by_platform import PLATFORM_MODULES
from ingestion.sources.meta import ParseError

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """What a load did (JSON-able through `to_dict`)."""

    load_id: str
    platform: str
    status: str  # committed | already_loaded | quarantined | empty
    responses: int = 0
    observations: int = 0
    accounts_loaded: list[str] = field(default_factory=list)
    accounts_failed: list[dict[str, Any]] = field(default_factory=list)
    business_date_min: str | None = None
    business_date_max: str | None = None
    gate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom, asset-event extras and run reports."""
        return dict(self.__dict__)


def load_id_for(run_id: str, platform: str) -> str:
    """Deterministic load id: the same landing batch always maps to the same load."""
    return f"{landing.safe_name(run_id)}/{platform}"


def _known_metrics(platform: str) -> set[str]:
    return known_metrics(platform)


def parse_records(
    platform: str, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """Observations and objects of every parseable account, and the parse error of each that is not.

    Parsing is per account: one account's garbage response cuts out that account only.
    """
    parser = PLATFORM_MODULES[platform].parse
    by_account: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_account.setdefault(record["account_id"], []).append(record)
    observations, objects, broken = [], [], {}
    for account_id, recs in by_account.items():
        try:
            rows, objs = [], []
            for rec in recs:
                rec["fetched_at_dt"] = datetime.fromisoformat(str(rec["fetched_at"]))
                parsed = parser(rec)
                rows.extend(parsed.observations)
                objs.extend(parsed.objects)
            observations.extend(rows)
            objects.extend(objs)
        except (ParseError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            broken[account_id] = f"{type(exc).__name__}: {exc}"[:500]
    return observations, objects, broken


# ----------------------------------------------------------------------------- observations as Arrow

# Responses parsed and staged at a time: bounds the memory of a load to one slice of decoded JSON
# (plus the compact Arrow observations of the whole batch, which the gate needs at once).
BATCH_RECORDS = 2000

# What the platform parsers produce, column by column. Timestamps stay text until the frame is
# built, where they are parsed exactly as the row-wise path parsed them.
OBSERVATION_ARROW_SCHEMA = pa.schema([
    *[(c, pa.string()) for c in load_gate.OBSERVATION_COLUMNS[:11]],
    ("metric_date", pa.date32()),
    ("end_time", pa.string()),
    ("value", pa.float64()),
    ("observed_at", pa.string()),
])
assert OBSERVATION_ARROW_SCHEMA.names == list(load_gate.OBSERVATION_COLUMNS)


def _observations_table(rows: list[dict[str, Any]]) -> pa.Table | None:
    """Parsed observation dicts as an Arrow table, or None when a value does not fit its column
    (a parser bug: the row-wise frame keeps it so the gate's schema suite can report it)."""
    try:
        return pa.Table.from_pylist(rows, schema=OBSERVATION_ARROW_SCHEMA)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None


def observations_frame(rows: list[dict[str, Any]] | pa.Table) -> pd.DataFrame:
    """The observations as the gate validates them and the commit inserts them.

    From Arrow: columnar, no Python object per value. Row dicts that Arrow refuses take the
    row-wise path; both give the same dtypes (strings `str`, metric_date datetime64[s], end_time and
    observed_at datetime64[UTC], value float64).
    """
    table = rows if isinstance(rows, pa.Table) else _observations_table(rows)
    if table is None:
        df = pd.DataFrame(rows, columns=list(load_gate.OBSERVATION_COLUMNS))
        df["metric_date"] = pd.to_datetime(df["metric_date"])
    else:
        day = table.schema.get_field_index("metric_date")
        df = table.set_column(day, "metric_date", pc.cast(table["metric_date"], pa.timestamp("s"))).to_pandas()
    df["end_time"] = pd.to_datetime(df["end_time"], utc=True, format="%Y-%m-%dT%H:%M:%S%z")
    # ISO8601: a response without a `Date` header carries our clock's microseconds, the others none.
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True, format="ISO8601")
    df["value"] = df["value"].astype("float64")
    return df


def arrow_table(df: pd.DataFrame) -> pa.Table:
    """A frame as Arrow for DuckDB (strings are Arrow already: no copy, no Python objects)."""
    return pa.Table.from_pandas(df, preserve_index=False)


@dataclass
class _Slice:
    """One slice of a landing batch, staged: its responses written to `path`, its records parsed.

    Built by `_stage_slice`, in this process or in a staging worker (so it is small and picklable:
    the observations as one Arrow table, no decoded JSON)."""

    path: Path
    accounts: list[str]  # the account of each response, landing order
    table: pa.Table | None  # the observations; None when Arrow refused them (then `rows`)
    rows: list[dict[str, Any]] | None
    objects: list[dict[str, Any]]
    broken: dict[str, str]
    empty_insights: dict[str, str]  # account -> metric of its last empty answer in the slice

    @classmethod
    def of(cls, platform: str, path: Path, records: list[dict[str, Any]], observations: list[dict[str, Any]],
           objects: list[dict[str, Any]], broken: dict[str, str]) -> _Slice:
        empty: dict[str, str] = {}
        if platform in META:
            for rec in records:
                metric = empty_insights_metric(rec)
                if metric is not None:
                    empty[rec["account_id"]] = metric
        table = _observations_table(observations)
        return cls(path, [r["account_id"] for r in records], table, observations if table is None else None,
                   objects, broken, empty)


@dataclass
class _Staged:
    """What streaming one platform's landing batch produced (its responses staged on disk)."""

    platform: str
    tables: list[pa.Table] = field(default_factory=list)
    rows: list[dict[str, Any]] | None = None  # set when Arrow refused a slice: the row-wise path
    objects: list[dict[str, Any]] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)
    responses: Counter = field(default_factory=Counter)  # responses per account, landing order
    followers: dict[str, float] = field(default_factory=dict)
    empty_insights: dict[str, str] = field(default_factory=dict)  # account -> metric of its last empty answer
    response_files: list[Path] = field(default_factory=list)  # the responses, staged as Parquet

    def add(self, part: _Slice) -> None:
        """Take one staged slice."""
        for account_id, message in part.broken.items():
            self.broken.setdefault(account_id, message)
        self.responses.update(part.accounts)
        self.objects.extend(part.objects)
        self.empty_insights.update(part.empty_insights)
        self.response_files.append(part.path)
        if part.table is None and self.rows is None:  # from now on row-wise (rare: a parser bug)
            self.rows = [row for t in self.tables for row in t.to_pylist()]
            self.tables = []
        if self.rows is not None:
            observations = part.rows if part.table is None else part.table.to_pylist()
            self.rows.extend(observations)
            nodes = [o for o in observations if o["source"] == "node" and o["metric_name"] in FOLLOWER_FIELDS]
        else:
            table = part.table
            self.tables.append(table)
            nodes = table.filter(pc.and_(pc.equal(table["source"], "node"),
                                         pc.is_in(table["metric_name"], pa.array(FOLLOWER_FIELDS)))).to_pylist()
        for o in nodes:
            if o["value"] is not None:
                self.followers[o["account_id"]] = min(self.followers.get(o["account_id"], o["value"]), o["value"])

    def empty_accounts(self) -> dict[str, str]:
        """`empty_insight_accounts` over the whole batch (parseable accounts only)."""
        return {a: empty_insights_message(metric, self.followers[a]) for a, metric in self.empty_insights.items()
                if a not in self.broken and self.followers.get(a, 0) >= MIN_FOLLOWERS_FOR_INSIGHTS}

    def observations(self, cut: set[str]) -> list[dict[str, Any]] | pa.Table:
        """Every observation of the accounts that load."""
        if self.rows is not None:
            return [o for o in self.rows if o["account_id"] not in cut]
        table = pa.concat_tables(self.tables) if self.tables else OBSERVATION_ARROW_SCHEMA.empty_table()
        if cut and table.num_rows:
            table = table.filter(pc.invert(pc.is_in(table["account_id"], pa.array(sorted(cut)))))
        return table


RESPONSE_ARROW_SCHEMA = pa.schema([
    ("response_id", pa.string()), ("platform", pa.string()), ("account_id", pa.string()),
    ("endpoint", pa.string()), ("request_url", pa.string()), ("request_params", pa.string()),
    ("api_version", pa.string()), ("http_status", pa.int64()), ("fetched_at", pa.timestamp("us", tz="UTC")),
    ("usage_headers", pa.string()), ("body", pa.string()), ("object_type", pa.string()), ("object_id", pa.string()),
])


_BODY_KEY = '"body": '


def _body_json(line: str, record: dict[str, Any]) -> str:
    """The JSON text of a landed record's body (the same JSON value as `json.dumps(record["body"])`).

    `landing.encode_record` writes each record with `json.dumps`, body last (the body's text as
    the API sent it, or encoded), so that text is already in the line: it is sliced out instead of
    encoded again (the largest single cost of staging a backfill). The slice is taken only when the
    line has the shape `encode_record` gives it: `"body": ` occurs once in the line (an unescaped
    quote-body-quote-colon can only be a key, so it is the record's own), body is the record's last
    key, after the default item separator, and the line ends with the record's closing brace.
    Anything else is encoded again.
    """
    start = line.find(_BODY_KEY)
    end = len(line)
    while end and line[end - 1] in "\r\n":
        end -= 1
    if (start > 1 and line[start - 2:start] == ", " and line.find(_BODY_KEY, start + 1) < 0
            and line[end - 1:end] == "}" and next(reversed(record), None) == "body"):
        return line[start + len(_BODY_KEY):end - 1]
    return json.dumps(record["body"])


def _responses_table(records: list[dict[str, Any]], lines: list[str] | None = None) -> pa.Table:
    """One slice of landed records as raw.responses columns (params, usage headers and bodies as
    JSON text; bodies sliced from their landed `lines` when given, see `_body_json`)."""
    fetched_at = pd.to_datetime(pd.Series([r["fetched_at"] for r in records], dtype=object), utc=True,
                                format="ISO8601")
    columns = {
        "response_id": [r["response_id"] for r in records],
        "platform": [r["platform"] for r in records],
        "account_id": [r["account_id"] for r in records],
        "endpoint": [r["endpoint"] for r in records],
        "request_url": [r["url"] for r in records],
        "request_params": [json.dumps(r["params"]) for r in records],
        "api_version": [r["api_version"] for r in records],
        "http_status": [r["http_status"] for r in records],
        "fetched_at": pa.Array.from_pandas(fetched_at.astype("datetime64[us, UTC]")),
        "usage_headers": [json.dumps(r["usage_headers"]) for r in records],
        "body": ([_body_json(line, r) for line, r in zip(lines, records, strict=True)] if lines is not None
                 else [json.dumps(r["body"]) for r in records]),
        "object_type": [r.get("object_type", "account") for r in records],
        "object_id": [r.get("object_id") or r["account_id"] for r in records],
    }
    try:
        return pa.table(columns, schema=RESPONSE_ARROW_SCHEMA)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):  # odd metadata types: DuckDB casts them
        return pa.table(columns)


# DuckDB's buffer pool while a load commits (and checkpoints on close). Its default, 80 % of RAM,
# let the commit of a backfill platform batch keep ~1 GiB of freshly inserted blocks resident
# next to the gate's frame; above this limit DuckDB writes them out (to the warehouse file or
# `<warehouse>.tmp`) instead. Measured on the two-year backfill: 512 MB was no slower than none
# and ~0.7 GiB lower; 192 MB (issue 21) another ~0.3 GiB lower and no slower (bench/README.md,
# "Backfill memory and load").
DUCKDB_MEMORY_LIMIT = "192MB"


def _libc_malloc_trim():
    """glibc's `malloc_trim`, or None (another C library, or none found)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_malloc_trim()


def _release_freed_memory() -> None:
    """Give the memory that Arrow's pool and malloc keep after a step's objects were dropped back to
    the OS. Without it the next step (the gate's copies, DuckDB's buffers, the next platform) grows
    on top of the heap the staging left behind, and the process's peak RSS is their sum."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def staging_dir(settings: Settings) -> Path:
    """Where a load stages its responses (`$SOCIALPULSE_HOME/.load-staging`). Only the process that
    holds the warehouse writes there, so each load may clear it (also after a kill -9)."""
    return settings.home_abs / ".load-staging"


def _stage_slice(platform: str, lines: list[str], path: Path) -> _Slice:
    """Decode, stage and parse one slice of landed lines (in this process or a staging worker)."""
    records = [json.loads(line) for line in lines]
    table = _responses_table(records, lines)  # before parsing: parsers may add keys to a record
    del lines
    observations, objects, broken = parse_records(platform, records)
    part = _Slice.of(platform, path, records, observations, objects, broken)
    del observations, records
    pq.write_table(table, path, compression="zstd", compression_level=1)
    return part


# A landing batch this large (a backfill; a nightly's largest is ~8 MiB) is staged by worker
# processes, one slice each at a time: decoding the JSON, parsing and staging are ~80 % of a
# two-year backfill's load and are pure Python, so one process uses one core (issue 21).
PARALLEL_STAGING_MIN_BYTES = 32 * 2**20
STAGING_WORKERS = 2
# Slices handed to the workers ahead of the one being taken back: bounds the landed text in flight.
_SLICES_AHEAD_PER_WORKER = 2


def _staging_workers(landing_dir: Path, run_id: str, platform: str) -> int:
    """How many worker processes stage this batch (0: this process does, as for every nightly)."""
    workers = min(STAGING_WORKERS, os.cpu_count() or 1)
    if workers < 2 or multiprocessing.current_process().daemon:  # a daemon process may not start any
        return 0
    folder = landing.run_dir(landing_dir, run_id) / platform
    size = sum(path.stat().st_size for path in folder.glob("*.jsonl")) if folder.exists() else 0
    return workers if size >= PARALLEL_STAGING_MIN_BYTES else 0


def _staging_worker_started() -> None:
    """A staging worker's set-up, once its imports are done (unpickling this function imported this
    module): the collector skips those modules' objects from then on (see ingestion.core.heap)."""
    gc.freeze()


def _stage_in_workers(platform: str, slices: Iterator[tuple[list[str], Path]], workers: int) -> Iterator[_Slice]:
    """`_stage_slice` of every slice in worker processes; yields the results in landing order.

    Fresh interpreters (`spawn`), not forks: this process already holds DuckDB's and Arrow's
    threads, which a fork would copy mid-flight. Their start-up (~1 s) runs while the first slices
    are read. As with any `spawn`, a worker imports the program's main module again, so a script
    that calls the loader must keep its work under `if __name__ == "__main__"` (console scripts,
    `python -m ...` entry points and pytest do)."""
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_staging_worker_started) as pool:
        pending: deque = deque()
        for lines, path in slices:
            pending.append(pool.submit(_stage_slice, platform, lines, path))
            if len(pending) > workers * _SLICES_AHEAD_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _stage(landing_dir: Path, run_id: str, platform: str, folder: Path) -> _Staged:
    """Read and parse the landing batch slice by slice; responses go to Parquet files in `folder`."""
    staged = _Staged(platform)
    folder.mkdir(parents=True, exist_ok=True)
    batches = landing.read_line_batches(landing_dir, run_id, platform, BATCH_RECORDS)
    slices = ((lines, folder / f"responses-{index:05d}.parquet") for index, lines in enumerate(batches))
    workers = _staging_workers(landing_dir, run_id, platform)
    parts = (_stage_in_workers(platform, slices, workers) if workers
             else (_stage_slice(platform, lines, path) for lines, path in slices))
    for part in parts:
        staged.add(part)
    return staged


def quarantine(settings: Settings, load_id: str, run_id: str, platform: str, payload: dict[str, Any]) -> Path:
    """Keep a rejected batch intact (its landing files) with the reason, outside the warehouse."""
    target = settings.quarantine_dir / landing.safe_name(load_id)
    target.mkdir(parents=True, exist_ok=True)
    source = landing.run_dir(settings.landing_dir, run_id) / platform
    if source.exists():
        shutil.copytree(source, target / "landing", dirs_exist_ok=True)
    (target / "validation.json").write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    return target


def load_run(settings: Settings, registry: Registry, run_id: str, platform: str) -> LoadResult:
    """Load one platform's landing batch of one run into the warehouse."""
    with collector_skips_the_heap():
        return _load_run(settings, registry, run_id, platform)


def _load_run(settings: Settings, registry: Registry, run_id: str, platform: str) -> LoadResult:
    load_id = load_id_for(run_id, platform)
    statuses = landing.read_statuses(settings.landing_dir, run_id, platform)
    result = LoadResult(load_id=load_id, platform=platform, status="empty")
    result.accounts_failed = [
        {"account_id": s["account_id"], **(s.get("error") or {})} for s in statuses if s["status"] != "ok"
    ]

    con = connect(settings.warehouse)  # from here on this process is the only loader
    folder = staging_dir(settings)
    try:
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        done = con.execute(
            "select status from raw.loads where load_id = ? and status = 'committed'", [load_id]
        ).fetchall()
        if done:
            result.status = "already_loaded"
            return result
        shutil.rmtree(folder, ignore_errors=True)  # leftovers of a killed load
        staged = _stage(settings.landing_dir, run_id, platform, folder / landing.safe_name(load_id))
        _release_freed_memory()  # the parsed slices' garbage
        if not staged.responses:
            _record_health_only(con, run_id, load_id, statuses, result)
            return result

        broken = dict(staged.broken)
        for account_id, message in broken.items():
            result.accounts_failed.append({"account_id": account_id, "error_class": "garbage_response",
                                           "message": message})
        if broken:
            quarantine(settings, f"{load_id}-unparseable", run_id, platform,
                       {"reason": "unparseable responses", "accounts": broken})
        empty = staged.empty_accounts()  # never load an account with holes
        for account_id, message in empty.items():
            result.accounts_failed.append({"account_id": account_id, "error_class": "empty_response",
                                           "message": message})
        cut = {*broken, *empty}
        good_accounts = [a for a in staged.responses if a not in cut]
        if not good_accounts:
            result.status = "quarantined"
            _record_health_only(con, run_id, load_id, statuses, result)
            return result

        df = observations_frame(staged.observations(cut))
        objects_df = objects_frame([o for o in staged.objects if o["account_id"] not in cut])
        staged.tables, staged.rows, staged.objects = [], None, []  # the frames hold them now
        _release_freed_memory()
        planned = [s for s in statuses if s["status"] == "ok" and s["account_id"] not in cut] or statuses
        try:
            gate = load_gate.gate_batch(
                df, objects_df, platform=platform, known_metrics=_known_metrics(platform),
                first_day=min(date.fromisoformat(str(s["since"])) for s in planned),
                last_day=max(date.fromisoformat(str(s["until"])) for s in planned),
                expected_accounts={s["account_id"] for s in planned}, run_id=run_id, load_id=load_id,
                docs_dir=quality.docs_root(settings.home_abs))
        except quality.GateError as exc:  # the gate broke: record it, commit nothing, fail loudly
            quality.record_validation(con, exc.result)
            raise
        result.gate = gate.to_dict()
        if not gate.success:
            result.status = "quarantined"
            quality.record_validation(con, gate)  # its own small transaction: history keeps failures
            where = quarantine_batch(settings, gate, run_id=run_id, platform=platform)
            log.error("load %s quarantined at %s:\n%s", load_id, where, gate.describe())
            return result

        responses = sum(staged.responses[a] for a in good_accounts)
        observations = _Incoming.of(df)
        del df  # the insert reads the Arrow copy: DuckDB's buffers grow after the frame is gone
        _release_freed_memory()
        _commit(con, registry, load_id, run_id, (staged.response_files, cut, responses), observations, objects_df,
                statuses, result, gate)
        result.status = "committed"
        result.responses = responses
        result.observations = observations.rows
        result.accounts_loaded = sorted(good_accounts)
        result.business_date_min = observations.first_day.isoformat()
        result.business_date_max = observations.last_day.isoformat()
        return result
    finally:
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            con.close()


def _record_health_only(con, run_id: str, load_id: str, statuses: list[dict[str, Any]], result: LoadResult) -> None:
    """When nothing loads (every account failed), still record what happened to each account."""
    if not statuses:
        return
    runs = _account_runs_frame(run_id, load_id, statuses, result.accounts_failed, datetime.now(UTC))
    con.register("incoming_runs", runs)
    try:
        con.execute("insert into raw.account_runs by name select * from incoming_runs")
    finally:
        con.unregister("incoming_runs")


OBJECT_COLUMNS = ("response_id", "platform", "account_id", "object_type", "object_id", "published_at",
                  "content_type", "product_type", "permalink", "caption", "observed_at")


def objects_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(OBJECT_COLUMNS))
    df["published_at"] = pd.to_datetime(df["published_at"], utc=True, errors="coerce", format="ISO8601")
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    return df.astype({c: "object" for c in ("content_type", "product_type", "permalink", "caption")})


def _account_runs_frame(run_id: str, load_id: str, statuses: list[dict[str, Any]], failed: list[dict[str, Any]],
                        finished: datetime) -> pd.DataFrame:
    """One row per planned account: its outcome in this run (health as data)."""
    failed_by_id = {f["account_id"]: f for f in failed}
    rows = []
    for s in statuses:
        error = failed_by_id.get(s["account_id"]) or s.get("error") or {}
        status = "failed" if error else ("partial" if s.get("retired_metrics") else "ok")
        rows.append({
            "run_id": run_id, "load_id": load_id, "platform": s["platform"], "account_id": s["account_id"],
            "status": status, "error_class": error.get("error_class"), "error_code": error.get("code"),
            "error_subcode": error.get("subcode"), "message": error.get("message"),
            "fbtrace_id": error.get("fbtrace_id"), "requests": s.get("requests"),
            "retired_metrics": list(s.get("retired_metrics") or []),
            "since": date.fromisoformat(str(s["since"])), "until": date.fromisoformat(str(s["until"])),
            "finished_at": finished,
        })
    return pd.DataFrame(rows, columns=["run_id", "load_id", "platform", "account_id", "status", "error_class",
                                       "error_code", "error_subcode", "message", "fbtrace_id", "requests",
                                       "retired_metrics", "since", "until", "finished_at"])


def _coverage_frame(load_id: str, statuses: list[dict[str, Any]], failed_ids: set[str],
                    fetched_at: datetime) -> pd.DataFrame:
    """The coverage ledger rows of this load: per account and window, fetched ok or failed."""
    rows = [
        {"platform": s["platform"], "account_id": s["account_id"], "endpoint": "account",
         "metric_name": "*", "since": date.fromisoformat(str(s["since"])),
         "until": date.fromisoformat(str(s["until"])), "fetched_at": fetched_at, "load_id": load_id,
         "outcome": "failed" if s["account_id"] in failed_ids else "ok"}
        for s in statuses
    ]
    for s in statuses:
        for metric in s.get("retired_metrics") or []:
            rows.append({"platform": s["platform"], "account_id": s["account_id"], "endpoint": "insights",
                         "metric_name": metric, "since": date.fromisoformat(str(s["since"])),
                         "until": date.fromisoformat(str(s["until"])), "fetched_at": fetched_at,
                         "load_id": load_id, "outcome": "retired"})
    return pd.DataFrame(rows, columns=["platform", "account_id", "endpoint", "metric_name", "since", "until",
                                       "fetched_at", "load_id", "outcome"])


@dataclass
class _Incoming:
    """The gated observations as the commit inserts them (Arrow), with the figures the load row
    and the result need, so that the pandas frame can go before DuckDB's buffers grow."""

    table: pa.Table
    rows: int
    accounts: int
    first_day: date
    last_day: date

    @classmethod
    def of(cls, df: pd.DataFrame) -> _Incoming:
        return cls(arrow_table(df), len(df), df["account_id"].nunique(), df["metric_date"].min().date(),
                   df["metric_date"].max().date())


def _commit(con, registry: Registry, load_id: str, run_id: str,
            responses: tuple[list[Path], set[str], int], observations: _Incoming, objects: pd.DataFrame,
            statuses: list[dict[str, Any]], result: LoadResult, gate: quality.GateResult | None = None) -> None:
    """Insert responses, observations, objects, health, ledger, registry and the load row atomically.

    `responses` is (the staged Parquet files, the accounts cut out of the batch, how many responses
    the rest has): the files are inserted without those accounts, and the count must match.
    """
    started = datetime.now(UTC)
    response_files, cut, expected_responses = responses
    accounts = pd.DataFrame(
        [
            {
                "platform": a.platform, "account_id": a.id, "name": a.name, "department": a.department,
                "audience": list(a.audience), "active_from": a.active_from, "active_until": a.active_until,
                "linked_account_id": a.linked.partition(":")[2] if a.linked else None,
                "loaded_at": started,
            }
            for a in registry.accounts
        ]
    )
    failed_ids = {f["account_id"] for f in result.accounts_failed}
    runs = _account_runs_frame(run_id, load_id, statuses, result.accounts_failed, started)
    coverage = _coverage_frame(load_id, statuses, failed_ids, started)
    retired = [
        {"detected_at": started, "platform": s["platform"], "metric_name": m, "error_code": 100,
         "message": "refused as retired/invalid insights metric", "run_id": run_id}
        for s in statuses for m in s.get("retired_metrics") or []
    ]
    retired_df = pd.DataFrame(retired, columns=["detected_at", "platform", "metric_name", "error_code", "message",
                                                "run_id"]).drop_duplicates(["platform", "metric_name"])
    org = registry.organisation
    for notice in org.notices:
        log.warning("registry: %s", notice)
    organisation = pd.DataFrame([{"name": org.name, "timezone": org.timezone, "population": org.population,
                                  "population_by_age": json.dumps(org.population_by_age), "loaded_at": started}])
    frames = {"incoming_observations": observations.table, "incoming_accounts": accounts,
              "incoming_objects": objects, "incoming_runs": runs, "incoming_coverage": coverage,
              "incoming_retired": retired_df, "incoming_organisation": organisation}
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        with transaction(con):
            inserted = con.execute(
                """
                insert into raw.responses
                select ?, response_id, platform, account_id, endpoint, request_url, request_params::json,
                       api_version, http_status, fetched_at, usage_headers::json, body::json, object_type, object_id
                from read_parquet(?, union_by_name = true)
                where not list_contains(?::varchar[], account_id)
                """,
                [load_id, [str(f) for f in response_files], sorted(cut)],
            ).fetchall()[0][0]
            if inserted != expected_responses:  # the staged files are not what was parsed: load nothing
                raise RuntimeError(f"load {load_id}: staged {inserted} responses, parsed {expected_responses}")
            con.execute(
                """
                insert into raw.observations
                select ?, response_id, platform, account_id, object_type, object_id, source, metric_name,
                       period, metric_type, dimension, dimension_value, metric_date::date, end_time, value, observed_at
                from incoming_observations
                """,
                [load_id],
            )
            con.execute("insert into raw.objects select ?, * from incoming_objects", [load_id])
            con.execute("insert into raw.account_runs by name select * from incoming_runs")
            con.execute("insert into raw.coverage by name select * from incoming_coverage")
            con.execute("insert into raw.metric_registry_events by name select * from incoming_retired")
            con.execute("delete from raw.organisation")
            con.execute(
                "insert into raw.organisation select name, timezone, population, population_by_age::json, loaded_at "
                "from incoming_organisation"
            )
            con.execute("delete from raw.accounts")
            con.execute(
                """
                insert into raw.accounts
                select platform, account_id, name, department, audience::varchar[], active_from::date,
                       active_until::date, linked_account_id, loaded_at
                from incoming_accounts
                """
            )
            con.execute(
                """
                insert into raw.loads values (?, ?, ?, ?, 'committed', ?, ?, ?, ?, ?)
                """,
                [
                    load_id, run_id, started, datetime.now(UTC), expected_responses, observations.rows,
                    observations.accounts, observations.first_day, observations.last_day,
                ],
            )
            if gate is not None:
                quality.record_validation(con, gate)  # the validation history commits with the load
    finally:
        for name in frames:
            con.unregister(name)
