"""`socialpulse` command line: run, backfill, status, and the sandbox server.

Exit codes: 0 all accounts loaded; 1 some accounts failed (the summary names them); 2 bad usage or
an invalid registry; 3 another writer kept the warehouse busy beyond the bounded wait (nothing done).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from contextlib import ExitStack, contextmanager
from datetime import date

from ingestion.registry import RegistryError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _print_report(report) -> int:
    from ingestion.pipeline import RunReport

    assert isinstance(report, RunReport)
    for item in report.loads:
        print(
            f"{item['platform']:<10} load {item['status']:<15} accounts={len(item['accounts_loaded'])} "
            f"observations={item['observations']} dates={item['business_date_min']}..{item['business_date_max']}"
        )
    if report.published:
        print(f"published  {report.published['path']} ({len(report.published['tables'])} marts)")
    failed = report.failed_accounts
    for failure in failed:
        print(f"FAILED     {failure['platform']}:{failure['account_id']} "
              f"[{failure.get('error_class')}] {failure.get('message')}")
    return 1 if failed else 0


@contextmanager
def _progress(label: str):
    """A progress bar over accounts on a terminal; silent when output is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(accounts: int, result) -> None:
            bar.update(task, advance=accounts, description=f"{label} {result.platform}")

        yield advance


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `socialpulse` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        # The sandbox is a separate package; it is only imported for this subcommand.
        return importlib.import_module("sandbox.cli").main(argv[1:]) or 0
    if argv[:1] == ["bi"]:
        # Superset runs from its own venv (it pins SQLAlchemy 1.4): bi/superset_bi.py creates it and
        # takes over this process (setup | serve | bundle OUT; default serve). docs/bi.md.
        script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bi", "superset_bi.py")
        os.execv(sys.executable, [sys.executable, script, *(argv[1:] or ["serve"])])

    parser = argparse.ArgumentParser(prog="socialpulse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sandbox", help="local platform API stand-in (see `socialpulse sandbox --help`)")
    sub.add_parser("bi", help="Apache Superset on the published marts: setup | serve (default), see docs/bi.md")
    run = sub.add_parser("run", help="the whole nightly chain without Airflow")
    run.add_argument("--as-of", type=_date, help="last platform day to read (default: yesterday, Pacific)")
    ingest = sub.add_parser("ingest", help="fetch and load the nightly window, without dbt/publish")
    ingest.add_argument("--as-of", type=_date, help="last platform day to read (default: yesterday, Pacific)")
    backfill = sub.add_parser("backfill", help="load a date range, then transform once")
    backfill.add_argument("--since", type=_date, required=True)
    backfill.add_argument("--until", type=_date, required=True)
    backfill.add_argument("--platform", action="append", choices=["facebook", "instagram", "youtube"])
    backfill.add_argument("--account", action="append")
    backfill.add_argument("--force", action="store_true", help="re-fetch days the coverage ledger already holds")
    backfill.add_argument("--no-transform", action="store_true", help="load only; run dbt later")
    replay = sub.add_parser("replay", help="re-derive observations from stored responses (no API calls)")
    replay.add_argument("--load-id", action="append", help="only these loads (default: every committed load)")
    sub.add_parser("status", help="coverage, freshness and failures per account")
    report_cmd = sub.add_parser("report", help="render the nightly HTML report from the published BI copy")
    report_cmd.add_argument("--lang", choices=["sv", "en"], default="sv")
    from ingestion import quarantine

    quarantine.add_parser(sub)  # quarantine list | show ID | release ID | drop ID --yes
    from ingestion.onboarding.cli import add_cli, run_cli

    add_cli(sub)  # doctor | accounts discover | token exchange | youtube authorize|access-token
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if (code := run_cli(args)) is not None:  # before load_settings(): doctor reports broken settings itself
        return code

    from ingestion import pipeline
    from ingestion.settings import load_settings

    settings = load_settings()
    from ingestion.warehouse import WarehouseBusy, writer_lock

    held = ExitStack()  # writing commands hold $SOCIALPULSE_HOME/writer.lock: one writer at a time
    try:
        if args.command in ("run", "ingest", "backfill", "replay") or (
                args.command == "quarantine" and args.action == "release"):
            held.enter_context(writer_lock(settings.home_abs, what=f"socialpulse {args.command}"))
        if args.command == "run":
            return _print_report(pipeline.run_nightly(settings, args.as_of))
        if args.command == "ingest":
            with _progress("fetching") as progress:
                return _print_report(pipeline.run_ingest(settings, args.as_of, progress))
        if args.command == "backfill":
            if args.until < args.since:
                parser.error("--until is before --since")
            with _progress("backfilling") as progress:
                report = pipeline.run_backfill(
                    settings, args.since, args.until,
                    tuple(args.platform) if args.platform else None,
                    tuple(args.account) if args.account else None,
                    force=args.force, transform=not args.no_transform, progress=progress,
                )
            return _print_report(report)
        if args.command == "replay":
            from ingestion.load import replay

            for load_id, rows in replay(settings, args.load_id).items():
                print(f"replayed {load_id}: {rows} observations")
            return 0
        if args.command == "report":
            from ingestion import report as nightly_report

            try:
                print(nightly_report.render(settings, lang=args.lang))
            except FileNotFoundError as exc:
                print(f"socialpulse: {exc}", file=sys.stderr)
                return 1
            return 0
        if args.command == "status":
            from ingestion.status import account_status, print_status

            print_status(account_status(settings))
            return 0
        if args.command == "quarantine":
            return quarantine.run_cli(settings, args)
    except RegistryError as exc:
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 3
    finally:
        held.close()
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
