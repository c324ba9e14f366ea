"""Command line for the sandbox: ``serve`` and ``truth``.

Called as ``sandbox.cli.main(argv)`` by the project's ``socialpulse sandbox ...`` command, and as
``python -m sandbox ...``. Kept to argparse + stdlib so it starts fast inside CI and containers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from sandbox.faults import FAULT_PROFILES, parse_profiles


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


def _profiles(text: str) -> str:
    try:
        parse_profiles(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _account_fault(text: str) -> tuple[str, str]:
    account, sep, profiles = text.partition("=")
    if not sep or not account.strip():
        raise argparse.ArgumentTypeError(f"expected ACCOUNT_ID=PROFILE[,PROFILE], got {text!r}")
    return account.strip(), _profiles(profiles)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialpulse sandbox",
        description="Offline stand-in for the Meta Graph API, YouTube Data/Analytics APIs and the Snapchat "
        "Public Profile API.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sandbox server until Ctrl-C")
    serve.add_argument("--port", type=int, default=8800, help="0 picks a free port (printed on stdout)")
    serve.add_argument("--host", default="127.0.0.1", help="loopback only by default")
    serve.add_argument("--accounts", type=int, default=80, help="N Facebook Pages + N Instagram accounts")
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--latency-ms", type=float, default=0.0)
    serve.add_argument(
        "--faults",
        default="none",
        type=_profiles,
        help="fault profile(s) for all requests, comma-separated: " + ", ".join(sorted(FAULT_PROFILES)),
    )
    serve.add_argument(
        "--account-fault",
        action="append",
        default=[],
        type=_account_fault,
        metavar="ID=PROFILE",
        help="fault profile(s) for one account id (repeatable), e.g. 100000000000003=expired_token",
    )
    serve.add_argument("--fault-timeout-s", type=float, default=35.0, help="how long the timeout profile holds")
    serve.add_argument("--fault-max-consecutive", type=int, default=2, help="K: max transient faults in a row")
    serve.add_argument("--fault-throttle-minutes", type=int, default=1)
    serve.add_argument("--call-budget-per-hour", type=int, default=None, help="per Page/IG account; default unlimited")
    serve.add_argument("--no-restatements", action="store_true", help="serve final values for the last two days")
    serve.add_argument("--youtube-channels", type=int, default=10)
    serve.add_argument("--youtube-quota-per-day", type=int, default=10_000)
    serve.add_argument("--snapchat-profiles", type=int, default=0)
    serve.add_argument("--now", type=_iso_datetime, default=None, help="freeze the sandbox clock (ISO-8601, UTC)")
    serve.add_argument(
        "--registry", default=None, metavar="PATH",
        help="size the sandbox to serve every account of this registry (overrides --accounts, "
        "--youtube-channels and --snapchat-profiles); refuses ids the sandbox does not generate",
    )

    truth = sub.add_parser("truth", help="export ground truth as CSV")
    truth.add_argument("--kind", choices=("daily", "demographics"), default="daily")
    truth.add_argument("--since", type=_iso_date, help="first measured day (inclusive; daily)")
    truth.add_argument("--until", type=_iso_date, help="last measured day (inclusive; daily)")
    truth.add_argument("--as-of", type=_iso_date, help="audience as of the end of this day (demographics)")
    truth.add_argument("--accounts", type=int, default=80)
    truth.add_argument("--youtube-channels", type=int, default=10)
    truth.add_argument("--snapchat-profiles", type=int, default=0)
    truth.add_argument("--seed", type=int, default=42)
    truth.add_argument("--out", required=True, help="CSV path, or - for stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns a process exit code."""
    args = build_parser().parse_args(argv)
    from sandbox.server import SandboxConfig

    if args.command == "serve":
        from sandbox.server import serve_forever

        if args.registry is not None:
            from sandbox.registry_fit import sizes_for_registry

            try:
                sizes = sizes_for_registry(args.registry)
            except ValueError as exc:
                print(f"invalid configuration: {exc}", file=sys.stderr)
                return 2
            args.accounts = max(sizes.accounts, 1)
            args.youtube_channels = sizes.youtube_channels
            args.snapchat_profiles = sizes.snapchat_profiles
        config = SandboxConfig(
            accounts=args.accounts,
            seed=args.seed,
            latency_ms=args.latency_ms,
            faults=args.faults,
            now=args.now,
            account_faults=dict(args.account_fault),
            fault_timeout_s=args.fault_timeout_s,
            fault_max_consecutive=args.fault_max_consecutive,
            fault_throttle_minutes=args.fault_throttle_minutes,
            call_budget_per_hour=args.call_budget_per_hour,
            restatements=not args.no_restatements,
            youtube_channels=args.youtube_channels,
            youtube_quota_per_day=args.youtube_quota_per_day,
            snapchat_profiles=args.snapchat_profiles,
        )
        try:
            config.validate()
        except ValueError as exc:
            print(f"invalid configuration: {exc}", file=sys.stderr)
            return 2
        serve_forever(config, host=args.host, port=args.port)
        return 0

    from sandbox.truth import write_csv, write_demographics_csv

    config = SandboxConfig(
        accounts=args.accounts,
        seed=args.seed,
        youtube_channels=args.youtube_channels,
        snapchat_profiles=args.snapchat_profiles,
    )
    if args.kind == "daily":
        if args.since is None or args.until is None:
            print("--since and --until are required for daily truth", file=sys.stderr)
            return 2
        if args.since > args.until:
            print("--since must not be after --until", file=sys.stderr)
            return 2

        def write(fh):  # noqa: ANN001, ANN202
            return write_csv(config, args.since, args.until, fh)
    else:
        if args.as_of is None:
            print("--as-of is required for demographics truth", file=sys.stderr)
            return 2

        def write(fh):  # noqa: ANN001, ANN202
            return write_demographics_csv(config, args.as_of, fh)

    if args.out == "-":
        count = write(sys.stdout)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            count = write(fh)
    print(f"wrote {count} ground-truth rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
