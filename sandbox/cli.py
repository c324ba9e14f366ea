"""Command line for the sandbox: ``serve`` and ``truth``.

Called as ``sandbox.cli.main(argv)`` by the project's ``socialpulse sandbox ...`` command, and as
``python -m sandbox ...``. Kept to argparse + stdlib so it starts fast inside CI and containers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from sandbox.graph import FAULT_PROFILES


def _iso_datetime(text: str) -> datetime:
    """ISO-8601 instant; naive values are taken as UTC (the sandbox clock is UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 datetime: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialpulse sandbox", description="Offline Meta Graph API sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the Graph API sandbox until Ctrl-C")
    serve.add_argument("--port", type=int, default=8800, help="0 picks a free port (printed on stdout)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--accounts", type=int, default=80, help="N Facebook Pages + N Instagram accounts")
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--latency-ms", type=float, default=0.0)
    serve.add_argument("--faults", default="none", choices=sorted(FAULT_PROFILES))
    serve.add_argument("--now", type=_iso_datetime, default=None, help="freeze the sandbox clock (ISO-8601, UTC)")

    truth = sub.add_parser("truth", help="export ground truth as CSV")
    truth.add_argument("--since", type=_iso_date, required=True, help="first measured day (inclusive)")
    truth.add_argument("--until", type=_iso_date, required=True, help="last measured day (inclusive)")
    truth.add_argument("--accounts", type=int, default=80)
    truth.add_argument("--seed", type=int, default=42)
    truth.add_argument("--out", required=True, help="CSV path, or - for stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns a process exit code."""
    args = build_parser().parse_args(argv)
    from sandbox.server import SandboxConfig

    if args.command == "serve":
        from sandbox.server import serve_forever

        config = SandboxConfig(
            accounts=args.accounts, seed=args.seed, latency_ms=args.latency_ms, faults=args.faults, now=args.now
        )
        serve_forever(config, host=args.host, port=args.port)
        return 0

    from sandbox.truth import write_csv

    if args.since > args.until:
        print("--since must not be after --until", file=sys.stderr)
        return 2
    config = SandboxConfig(accounts=args.accounts, seed=args.seed)
    if args.out == "-":
        count = write_csv(config, args.since, args.until, sys.stdout)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            count = write_csv(config, args.since, args.until, fh)
    print(f"wrote {count} ground-truth rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
