"""What a person sees of `socialpulse run`, `ingest` and `backfill`: progress, a log file, a summary.

A nightly run prints some 370 lines of dbt output and 200 of GX chatter when all of it goes to the
terminal, while a 60-day backfill or a run slowed down for usage limits says nothing for minutes.
So, for the length of the work:

- every log record (dbt's lines, the load and mart gates, each account's failure) goes to a log
  file, $SOCIALPULSE_HOME/logs/<command>-<UTC time>.log, and none to the terminal;
- the progress shows per platform the accounts and requests done and the waits for usage limits:
  live on a terminal; when the output is a file or a pipe (cron, CI), as plain lines: at each
  phase, at most every PLAIN_EVERY_S seconds per platform, and a "still running" line when
  nothing else was said for that long (a paced round or dbt can take minutes);
- the summary says per platform what was loaded, what stopped a platform and how to fix it
  (once), which accounts failed (grouped by cause), where the warehouse, BI copy, report and log
  are, and the command to run next.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ingestion.extract.fetch import FetchProgress, Progress
from ingestion.extract.plan import AccountPlan

# Plain progress lines (not a terminal): at most one per platform this often, plus phase changes.
PLAIN_EVERY_S = 10.0
# Accounts named in one summary line; the rest are counted (`socialpulse status` lists them all).
NAMED_ACCOUNTS = 3


class _Counting(logging.Handler):
    """Counts the warnings and errors of the run (the summary says how many the log holds)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts["errors" if record.levelno >= logging.ERROR else "warnings"] += 1


class Console(Progress):
    """Progress display and log routing of one command (use as a context manager)."""

    def __init__(self, command: str, settings, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.command = command
        self.settings = settings
        self.home: Path = settings.home_abs
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.log_path: Path | None = None
        self.started = time.monotonic()
        self.totals: Counter[str] = Counter()  # planned accounts per platform
        self.chunks: dict[str, dict[str, FetchProgress]] = defaultdict(dict)  # platform -> chunk -> last event
        self._said: dict[str, float] = {}  # platform -> when its last plain line was written
        self._finished: set[str] = set()
        self._counting = _Counting()
        self._file: logging.Handler | None = None
        self._muted: list[tuple[logging.Handler, int]] = []
        self._root_level = logging.WARNING
        self._bar: Any = None
        self._rows: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._current = ""  # what is going on now (plain mode repeats it when nothing else is said)
        self._last_line = time.monotonic()
        self._quiet = threading.Event()  # set: the ticker stops
        self._ticker: threading.Thread | None = None

    # -- context: log routing --------------------------------------------------------------------

    def __enter__(self) -> Console:
        root = logging.getLogger()
        try:
            folder = self.home / "logs"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.command}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.log"
            self._file = logging.FileHandler(path, encoding="utf-8")
        except OSError as exc:  # a read-only data folder: keep logging to the terminal
            print(f"socialpulse: no log file ({exc}); detail goes to the terminal", file=self.stream)
        else:
            self.log_path = path
            self._file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            self._file.setLevel(logging.INFO)
            root.addHandler(self._file)
            for handler in root.handlers:  # the terminal hears nothing of the log while the work runs
                if handler is not self._file and isinstance(handler, logging.StreamHandler) and \
                        getattr(handler, "stream", None) in (sys.stderr, sys.stdout):
                    self._muted.append((handler, handler.level))
                    handler.setLevel(logging.CRITICAL + 1)
            logging.captureWarnings(True)  # library warnings (matplotlib, pandas) go to the file too
        root.addHandler(self._counting)
        self._root_level = root.level
        root.setLevel(logging.INFO)  # the log file gets INFO (not urllib3's DEBUG) whatever the caller set up
        if self.live:
            from rich.console import Console as RichConsole
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description:<10}"), BarColumn(bar_width=16), MofNCompleteColumn(),
                            TextColumn("{task.fields[detail]}"), console=RichConsole(file=self.stream),
                            transient=True)
            self._bar.start()
        else:
            self._ticker = threading.Thread(target=self._tick, name="socialpulse-progress", daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        """Plain mode: say what is still going on when nothing was said for PLAIN_EVERY_S."""
        while not self._quiet.wait(min(1.0, PLAIN_EVERY_S)):
            if self._current and time.monotonic() - self._last_line >= PLAIN_EVERY_S:
                self._line(f"{self._current} (still running)")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop_display()
        root = logging.getLogger()
        root.removeHandler(self._counting)
        root.setLevel(self._root_level)
        for handler, level in self._muted:
            handler.setLevel(level)
        if self._file is not None:
            root.removeHandler(self._file)
            self._file.close()
            logging.captureWarnings(False)
        if exc_type is not None and self.log_path is not None:
            print(f"socialpulse: {self.command} stopped; the log has the detail: {self.log_path}", file=self.stream)

    # -- Progress --------------------------------------------------------------------------------

    def planned(self, plans: list[AccountPlan]) -> None:
        """Totals per platform; the plain output says what is about to happen."""
        self.totals.update(p.platform for p in plans)
        text = ", ".join(f"{n} {platform}" for platform, n in sorted(self.totals.items())) or "nothing"
        if self.live:
            for platform, n in sorted(self.totals.items()) if self._bar is not None else ():
                self._rows[platform] = self._bar.add_task(platform, total=n, detail="")
        else:
            self._line(f"fetching {text} account(s)")
        if self.log_path is not None and not self.live:
            self._line(f"detail in {self.log_path}")

    def fetched(self, event: FetchProgress) -> None:
        """Update the platform's row (terminal) or write its line when due (plain)."""
        self.chunks[event.platform][event.chunk] = event
        done, failed, requests, paced = self._platform(event.platform)
        total = self.totals[event.platform] or event.accounts
        detail = f"{requests:,} requests" + (f", {failed} failed" if failed else "")
        if paced >= 1:
            detail += f", {paced:.0f} s of waits for usage limits"  # summed over the accounts waiting
        if event.waiting_s >= 1:
            why = "usage to drop" if event.waiting_for == "usage" else "a retry"
            detail += f", waiting {event.waiting_s:.0f} s for {why}"
        elif event.in_flight:
            detail += f", {event.in_flight:,} calls in flight"
        if self.live:
            if event.platform in self._rows and self._bar is not None:
                self._bar.update(self._rows[event.platform], completed=done, detail=detail)
            return
        finished = done >= total
        now = time.monotonic()
        self._current = f"{event.platform}: {done}/{total} accounts, {detail}"
        if finished and event.platform in self._finished:
            return
        if finished or event.waiting_s >= 5 or now - self._said.get(event.platform, 0.0) >= PLAIN_EVERY_S:
            self._said[event.platform] = now
            if finished:
                self._finished.add(event.platform)
            self._line(self._current)

    def step(self, text: str) -> None:
        """A new phase: a spinner row on a terminal, a line otherwise."""
        if self.live:
            if self._bar is None:
                return
            if "step" not in self._rows:
                self._rows["step"] = self._bar.add_task("", total=None, detail="")
            self._bar.update(self._rows["step"], description=text)
        else:
            self._current = text
            self._line(text)

    def _platform(self, platform: str) -> tuple[int, int, int, float]:
        events = self.chunks[platform].values()
        return (sum(e.done for e in events), sum(e.failed for e in events), sum(e.requests for e in events),
                sum(e.paced_s for e in events))

    def _line(self, text: str) -> None:
        with self._lock:
            self._last_line = time.monotonic()
            print(f"[{self._last_line - self.started:5.0f} s] {text}", file=self.stream, flush=True)

    # -- summary ---------------------------------------------------------------------------------

    def _stop_display(self) -> None:
        self._quiet.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def summary(self, report, out: TextIO | None = None) -> int:
        """Print what the run did and where everything is; returns the exit code (1: some account failed)."""
        self._stop_display()  # the summary stays on the screen, the progress goes
        return print_summary(report, self.settings, self.command, self.log_path, self._counting.counts, out)


def _ids(account_ids: list[str]) -> str:
    named = ", ".join(account_ids[:NAMED_ACCOUNTS])
    more = len(account_ids) - NAMED_ACCOUNTS
    return named + (f" and {more} more" if more > 0 else "")


def print_summary(report, settings, command: str, log_path: Path | None = None,
                  counts: Counter[str] | None = None, out: TextIO | None = None) -> int:
    """The end of a run: per platform what loaded, each stop once with its fix, failures grouped by
    cause, where the results are, and the next command. Returns 1 if any account failed, else 0."""
    out = out or sys.stdout

    def say(label: str, text: str) -> None:
        print(f"{label:<10} {text}", file=out)

    planned: Counter[str] = Counter()
    paced: dict[str, set[str]] = defaultdict(set)
    stops: dict[tuple[str, str], dict[str, Any]] = {}
    for fetch in report.fetches:
        planned[fetch["platform"]] += fetch["accounts_ok"] + fetch["accounts_failed"]
        paced[fetch["platform"]].update(fetch.get("paced_accounts") or [])
        for stop in fetch.get("stopped") or []:
            key = (stop["platform"], stop["scope"])
            if key in stops:
                stops[key]["skipped"] += stop["skipped"]
            else:
                stops[key] = dict(stop)
    failed = report.failed_accounts
    failed_by_platform = Counter(f["platform"] for f in failed)
    for item in report.loads:
        platform, n_failed = item["platform"], failed_by_platform[item["platform"]]
        total = planned[platform] or len(item["accounts_loaded"]) + n_failed
        if item["status"] == "committed":
            text = (f"{len(item['accounts_loaded'])} of {total} accounts loaded, {item['observations']:,} "
                    f"observations, days {item['business_date_min']}..{item['business_date_max']}")
        elif item["status"] == "already_loaded":
            text = f"already loaded earlier (load {item['load_id']}): nothing new"
        elif item["status"] == "quarantined":
            text = "quarantined by the load gate, nothing loaded: `socialpulse quarantine list` shows why"
        else:
            text = f"nothing loaded: {n_failed} of {total} accounts failed or skipped" if total else "no accounts"
        if paced[platform]:  # self-pacing is why a run takes longer than the last one
            text += f"; {len(paced[platform])} accounts slowed down for usage limits"
        say(platform, text)
    if not report.loads:
        say("fetch", "nothing to fetch: every account's window is already loaded (--force fetches it again)"
            if command == "backfill" else "nothing to fetch")

    # each stop once, with its first accounts; then the other failures grouped by cause
    explained = set()
    for (platform, scope), stop in stops.items():
        who = "accounts" if scope == "transport" else f"accounts using {scope.removeprefix('token ')}"
        say("STOPPED", f"{platform}: the first {len(stop['first_accounts'])} {who} failed alike "
                       f"({_ids(stop['first_accounts'])}), {stop['skipped']} more skipped: {stop['reason']}")
        say("", f"fix: {stop['fix']}")
        explained.update((platform, a) for a in stop["first_accounts"])
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for failure in failed:
        if failure.get("skipped") or (failure["platform"], failure["account_id"]) in explained:
            continue
        groups[(failure["platform"], str(failure.get("error_class")), str(failure.get("message")))].append(
            failure["account_id"])
    for (platform, error_class, message), ids in groups.items():
        who = f"{platform}:{ids[0]}" if len(ids) == 1 else f"{platform} {len(ids)} accounts ({_ids(ids)})"
        say("FAILED", f"{who} [{error_class}] {message}")

    say("warehouse", str(settings.warehouse))
    if report.published:
        say("BI copy", f"{report.published['path']} ({len(report.published['tables'])} marts)")
        say("report", str(report.published.get("report") or "not rendered (the log says why)"))
    if log_path is not None:
        counts = counts or Counter()
        noted = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
        say("log", f"{log_path}" + (f" ({noted})" if noted else ""))
    say("next", _next_command(command, report, bool(failed), bool(stops)))
    return 1 if failed else 0


def _next_command(command: str, report, failed: bool, stopped: bool) -> str:
    if stopped:
        return f"fix the setting named above, then `socialpulse {command}` again"
    if failed:
        return "`socialpulse status` lists every account with its last error; a re-run fetches the failed ones again"
    if not report.published and command == "run":
        return "nothing was published: the message below says why and what repairs it"
    if not report.published:
        return "`socialpulse run` builds the marts and the report" if command != "backfill" else \
            "`socialpulse run` (or a backfill without --no-transform) builds the marts and the report"
    return "`socialpulse status` for coverage per account, or open the report above"
