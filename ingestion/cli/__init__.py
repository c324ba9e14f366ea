"""`socialpulse` command line: run, backfill, status (and in a dev checkout the sandbox server).

Exit codes (README "Commands" has the same table):
  0  done: all accounts loaded (or nothing needed doing, and the output says so)
  1  some accounts failed (the summary names them); the others are loaded and published
  2  bad usage, nothing done: an invalid registry, an --as-of/--until after the last complete
     platform day, --since after --until, an unknown --account or --load-id, an account outside
     --platform, a range beyond the platforms' history
  3  another writer kept the warehouse busy beyond the bounded wait (nothing done)
  4  the mart gate blocked the publish: the loads are committed, the previous BI copy stays; the
     message names the cause and the command that repairs it
  5  the data folder ($SOCIALPULSE_HOME) is not writable (nothing done)
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import logging
import os
import sys
from contextlib import ExitStack, contextmanager
from datetime import date
from importlib.metadata import EntryPoint, entry_points

from ingestion.core.platforms import SUPPORTED
from ingestion.core.registry import RegistryError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _print_report(report, progress) -> int:
    """The run's closing summary (ingestion/cli/console.py); returns the exit code (1: some account failed)."""
    from ingestion.pipeline.chain import RunReport

    assert isinstance(report, RunReport)
    return progress.summary(report)


@contextmanager
def _progress(command: str, settings):
    """For the length of a long command: its log file under $SOCIALPULSE_HOME/logs/ (the terminal
    gets none of the log) and a progress display on stderr, live on a terminal, plain lines else."""
    from ingestion.cli.console import Console

    with Console(command, settings) as console:
        yield console


# What each command does, shown by `socialpulse COMMAND --help` (the one-line `help=` is the list entry).
DESCRIPTIONS = {
    "run": "The whole nightly chain without Airflow: plan every active account's window (the last "
           "SOCIALPULSE_LOOKBACK_DAYS platform days up to --as-of), fetch, land, load behind the GX gate, "
           "dbt build, mart gate, publish the BI copy and render the report.",
    "ingest": "Fetch, land and load the nightly window behind the GX gate, without dbt, mart gate or publish "
              "(for debugging a platform; `run` or the transform DAG builds the marts later).",
    "backfill": "Load history from --since to --until (platform days, inclusive), clipped to each platform's "
                "history limit and split into the API's window sizes; days the coverage ledger already holds "
                "are skipped unless --force. Then one dbt build and publish, unless --no-transform.",
    "replay": "Re-derive observations from the stored API responses (raw.responses) with the current parsers, "
              "without calling any API: after a parser fix, or to prove a day is reproducible.",
    "status": "Per account: the last run's outcome, covered platform days, freshness, and what failed; "
              "read-only, safe while a run is going.",
    "report": "Render the nightly HTML report from the published BI copy into $SOCIALPULSE_HOME/reports/ "
              "(latest.html and a dated copy).",
}


def _describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every (nested) subcommand without a description its list entry as one, so that
    `socialpulse X Y --help` always says what X Y does."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            helps = {choice.dest: choice.help for choice in action._choices_actions}  # noqa: SLF001
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    child.description = helps[name][0].upper() + helps[name][1:] + "."
                _describe_subcommands(child)


def _unwritable(exc: OSError, home) -> bool:
    """An OSError that means "this user cannot write the data folder" (permissions, read-only mount)."""
    from pathlib import Path

    if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS) or not exc.filename:
        return False
    path = Path(exc.filename).resolve()
    return path == home or home in path.parents


def _check_load_ids(settings, load_ids: list[str] | None) -> None:
    """Refuse `replay --load-id` naming a load the warehouse never committed (it used to print nothing)."""
    from ingestion.core.state import read as read_state
    from ingestion.extract.plan import PlanError

    if not load_ids:
        return
    committed = {r[0] for r in read_state(settings, "select load_id from raw.loads where status = 'committed'")}
    unknown = [i for i in load_ids if i not in committed]
    if unknown:
        raise PlanError(f"--load-id {', '.join(unknown)}: no committed load with that id in {settings.warehouse} "
                        f"(load ids are in raw.loads and in the run's log); nothing was replayed.")


def optional_commands() -> dict[str, EntryPoint]:
    """Subcommands that live outside the product package, by name (pyproject's `socialpulse.commands`).

    Why entry points: `socialpulse sandbox ...` runs the sandbox, which a dev checkout has and the
    wheel does not ship; `ingestion` never imports it. An entry point names `module:function`, the
    function takes the rest of argv and returns the exit code. One whose top-level package is not
    installed (the wheel) is left out silently, so the command simply does not exist there.
    """
    found = {}
    for entry in entry_points(group="socialpulse.commands"):
        if importlib.util.find_spec(entry.module.split(".")[0]) is not None:
            found[entry.name] = entry
    return found


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `socialpulse` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    optional = optional_commands()
    if argv[:1] and argv[0] in optional:
        # Loaded only for its own subcommand: the nightly commands never import it.
        return optional[argv[0]].load()(argv[1:]) or 0
    if argv[:1] == ["bi"]:
        # Superset runs from its own venv (it pins SQLAlchemy 1.4): bi/superset_bi.py creates it and
        # takes over this process (setup | serve | bundle OUT; default serve). docs/bi.md.
        from pathlib import Path

        script = str(Path(__file__).resolve().parents[2] / "bi" / "superset_bi.py")
        os.execv(sys.executable, [sys.executable, script, *argv[1:]])

    parser = argparse.ArgumentParser(prog="socialpulse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in sorted(optional):
        sub.add_parser(name, help=f"dev checkout only (see `socialpulse {name} --help`)")
    sub.add_parser("bi", help="Apache Superset on the published marts: setup | serve (default), see docs/bi.md")
    run = sub.add_parser("run", help="the whole nightly chain without Airflow")
    run.add_argument("--as-of", type=_date, help="last platform day to read (default: yesterday, Pacific)")
    ingest = sub.add_parser("ingest", help="fetch and load the nightly window, without dbt/publish")
    ingest.add_argument("--as-of", type=_date, help="last platform day to read (default: yesterday, Pacific)")
    backfill = sub.add_parser("backfill", help="load a date range, then transform once")
    backfill.add_argument("--since", type=_date, required=True, help="first platform day (YYYY-MM-DD, inclusive)")
    backfill.add_argument("--until", type=_date, required=True,
                          help="last platform day (YYYY-MM-DD, inclusive; at most the last complete day)")
    backfill.add_argument("--platform", action="append", choices=list(SUPPORTED),
                          help="only this platform (repeatable; default: every enabled platform)")
    backfill.add_argument("--account", action="append", help="only this registry account id (repeatable)")
    backfill.add_argument("--force", action="store_true", help="re-fetch days the coverage ledger already holds")
    backfill.add_argument("--no-transform", action="store_true", help="load only; run dbt later")
    replay = sub.add_parser("replay", help="re-derive observations from stored responses (no API calls)")
    replay.add_argument("--load-id", action="append", help="only these loads (default: every committed load)")
    status_cmd = sub.add_parser("status", help="coverage, freshness and failures per account")
    status_cmd.add_argument("--json", action="store_true", help="the same as JSON (summary, publish, accounts)")
    repair_cmd = sub.add_parser("repair", help="remove what a bad input left in the warehouse")
    repair_cmd.add_argument("--drop-future", action="store_true", required=True,
                            help="remove coverage-ledger days after the last complete platform day (written by a "
                                 "run with a future --as-of); nothing loaded is removed")
    report_cmd = sub.add_parser("report", help="render the nightly HTML report from the published BI copy")
    report_cmd.add_argument("--lang", choices=["sv", "en"], default="sv", help="report language (default sv)")
    from ingestion.gates import quarantine

    quarantine.add_parser(sub)  # quarantine list | show ID | release ID | drop ID --yes
    from ingestion.onboarding.cli import add_cli, run_cli

    add_cli(sub)  # doctor | accounts discover | token exchange | youtube authorize|access-token
    for name, description in DESCRIPTIONS.items():
        sub.choices[name].description = description
    _describe_subcommands(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if (code := run_cli(args)) is not None:  # before load_settings(): doctor reports broken settings itself
        return code

    from ingestion.core.settings import load_settings
    from ingestion.extract.plan import PlanError, check_complete
    from ingestion.gates.mart_gate import MartGateError
    from ingestion.pipeline import chain as pipeline

    settings = load_settings()
    from ingestion.load.warehouse import WarehouseBusy, writer_lock

    held = ExitStack()  # writing commands hold $SOCIALPULSE_HOME/writer.lock: one writer at a time
    progress = None
    try:
        # Bad input is refused before the lock, the log file or anything else is written.
        if args.command in ("run", "ingest") and args.as_of:
            check_complete(args.as_of, settings.platforms, "--as-of")
        if args.command == "backfill":
            for note in pipeline.check_backfill(settings, args.since, args.until,
                                                tuple(args.platform) if args.platform else None,
                                                tuple(args.account) if args.account else None):
                print(f"socialpulse: {note}", file=sys.stderr)
        if args.command == "replay":
            _check_load_ids(settings, args.load_id)
        if args.command in ("run", "ingest", "backfill", "replay", "repair") or (
                args.command == "quarantine" and args.action == "release"):
            held.enter_context(writer_lock(settings.home_abs, what=f"socialpulse {args.command}"))
        if args.command == "run":
            with _progress("run", settings) as progress:
                return _print_report(pipeline.run_nightly(settings, args.as_of, progress=progress), progress)
        if args.command == "ingest":
            with _progress("ingest", settings) as progress:
                return _print_report(pipeline.run_ingest(settings, args.as_of, progress), progress)
        if args.command == "backfill":
            with _progress("backfill", settings) as progress:
                report = pipeline.run_backfill(
                    settings, args.since, args.until,
                    tuple(args.platform) if args.platform else None,
                    tuple(args.account) if args.account else None,
                    force=args.force, transform=not args.no_transform, progress=progress,
                )
            return _print_report(report, progress)
        if args.command == "replay":
            from ingestion.load.replay import replay

            replayed = replay(settings, args.load_id)
            for load_id, rows in replayed.items():
                print(f"replayed {load_id}: {rows} observations")
            for load_id in sorted(set(args.load_id or ()) - set(replayed)):
                print(f"skipped {load_id}: it has no stored responses (nothing to re-derive)")
            if not replayed:
                print("nothing replayed: no committed load has stored responses yet (`socialpulse run` loads some)")
            return 0
        if args.command == "repair":
            from ingestion.core.state import drop_future_coverage

            counts = drop_future_coverage(settings)
            if not counts["deleted"] and not counts["clipped"]:
                print("nothing to repair: the coverage ledger holds no day after the last complete platform day")
            else:
                print(f"coverage ledger: {counts['deleted']} future entr{'y' if counts['deleted'] == 1 else 'ies'} "
                      f"removed, {counts['clipped']} cut back to the last complete platform day; no loaded data was "
                      f"touched. Next: `socialpulse run` (its mart gate publishes again)")
            return 0
        if args.command == "report":
            from ingestion.publish import report as nightly_report

            try:
                print(nightly_report.render(settings, lang=args.lang))
            except FileNotFoundError as exc:
                print(f"socialpulse: {exc}", file=sys.stderr)
                return 1
            return 0
        if args.command == "status":
            from ingestion.cli.status import print_json, print_status, status_report

            try:
                (print_json if args.json else print_status)(status_report(settings))
            except BrokenPipeError:  # `socialpulse status | head`: the reader has seen enough
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
            return 0
        if args.command == "quarantine":
            return quarantine.run_cli(settings, args)
    except (RegistryError, PlanError) as exc:
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 2
    except MartGateError as exc:
        # Loads are committed; the previous BI copy stays. Say what loaded, then why nothing was published.
        if exc.report is not None and progress is not None:
            _print_report(exc.report, progress)
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:
        if not _unwritable(exc, settings.home_abs):
            raise
        print(f"socialpulse: cannot write to the data folder {settings.home_abs} ({exc.strerror}: {exc.filename}); "
              f"give this user write access to it or set SOCIALPULSE_HOME to a writable folder. Nothing was done.",
              file=sys.stderr)
        return 5
    except WarehouseBusy as exc:
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 3
    finally:
        held.close()
    parser.error(f"unknown command {args.command}")
    return 2

