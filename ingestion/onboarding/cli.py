"""Onboarding subcommands of `socialpulse`, wired into `ingestion.cli` with `add_cli` / `run_cli`:

    socialpulse doctor [--warn-days N] [--airflow|--no-airflow] [--no-record] [--offline] [--json]
    socialpulse accounts discover [--dry-run] [--registry PATH] [--no-meta] [--no-youtube]
                                  [--organisation NAME --population N]
    socialpulse token exchange --app-id ID --app-secret-env NAME --token-env NAME
                               [--env-file PATH] [--no-pages] [--show]
    socialpulse youtube authorize (--client-secrets FILE | --client-id ID --client-secret-env NAME)
                                  [--secrets-file PATH] [--port P] [--listen] [--airflow-conn ID] [--show]
    socialpulse youtube access-token [--channel UC...] [--secrets-file PATH]

Exit codes: 0 fine; 1 doctor found errors / a step failed; 2 bad usage or an invalid registry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.onboarding.doctor import DEFAULT_WARN_DAYS

DEFAULT_META_ENV_FILE = Path("~/.config/socialpulse/meta.env")


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register `doctor`, `accounts discover`, `token exchange` and `youtube authorize`."""
    doctor = subparsers.add_parser(
        "doctor", help="check settings, registry, tokens, accounts, warehouse, BI, Airflow",
        description="Check everything a nightly run needs and say what to fix: settings, the registry, every token "
        "(validity, expiry, scopes), that each account is readable, the warehouse, the BI copy, and Airflow's "
        "pools and connections. Exit code 1 when the nightly run would fail for some account, else 0.")
    doctor.add_argument("--warn-days", type=int, default=DEFAULT_WARN_DAYS,
                        help=f"warn this many days before a token or data-access expiry (default {DEFAULT_WARN_DAYS})")
    doctor.add_argument("--airflow", action=argparse.BooleanOptionalAction, default=None,
                        help="check Airflow pools/connections (default: only inside an Airflow task)")
    doctor.add_argument("--no-record", action="store_true", help="do not append token checks to raw.tokens")
    doctor.add_argument("--offline", action="store_true", help="no API calls: settings, registry and paths only")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--youtube-secrets", type=Path, help="YouTube secrets file (default ~/.config/socialpulse/"
                        "youtube.json or $SOCIALPULSE_YOUTUBE_SECRETS)")
    doctor.set_defaults(onboarding=_doctor)

    accounts = subparsers.add_parser(
        "accounts", help="account registry tools",
        description="Build and update the account registry from what the credentials can read.")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    discover = accounts_sub.add_parser(
        "discover", help="find every Page, Instagram account and YouTube channel the credentials can read "
        "and merge them into the registry")
    discover.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    discover.add_argument("--registry", type=Path, help="registry file (default $SOCIALPULSE_ACCOUNTS)")
    discover.add_argument("--no-meta", action="store_true", help="skip Facebook and Instagram")
    discover.add_argument("--no-youtube", action="store_true", help="skip YouTube")
    discover.add_argument("--organisation", help="organisation name, when the registry file does not exist yet")
    discover.add_argument("--population", type=int, help="residents, when the registry file does not exist yet")
    discover.add_argument("--youtube-secrets", type=Path, help="YouTube secrets file")
    discover.set_defaults(onboarding=_discover)

    token = subparsers.add_parser(
        "token", help="Meta token lifecycle",
        description="Exchange a short-lived Meta user token for long-lived user and Page tokens.")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    exchange = token_sub.add_parser(
        "exchange", help="short-lived user token -> long-lived token (~60 days) -> Page tokens (no expiry)")
    exchange.add_argument("--app-id", default=os.environ.get("SOCIALPULSE_META_APP_ID"),
                          help="the Meta app id (default $SOCIALPULSE_META_APP_ID)")
    exchange.add_argument("--app-secret-env", default="SOCIALPULSE_META_APP_SECRET",
                          help="environment variable holding the app secret (default SOCIALPULSE_META_APP_SECRET)")
    exchange.add_argument("--token-env", required=True,
                          help="environment variable holding the short-lived user token (from Graph API Explorer)")
    exchange.add_argument("--env-file", type=Path, default=DEFAULT_META_ENV_FILE,
                          help=f"where to store the results, mode 0600 (default {DEFAULT_META_ENV_FILE})")
    exchange.add_argument("--store-as", default="SOCIALPULSE_META_TOKEN",
                          help="variable name for the long-lived user token (default SOCIALPULSE_META_TOKEN)")
    exchange.add_argument("--no-pages", action="store_true", help="do not derive Page tokens")
    exchange.add_argument("--show", action="store_true", help="also print the tokens (careful: terminal history)")
    exchange.set_defaults(onboarding=_token_exchange)

    youtube = subparsers.add_parser(
        "youtube", help="YouTube credentials",
        description="Authorise YouTube channels once (a stored refresh token) and mint access tokens from it.")
    youtube_sub = youtube.add_subparsers(dest="youtube_command", required=True)
    authorize = youtube_sub.add_parser("authorize", help="installed-app OAuth: store a refresh token outside the repo")
    source = authorize.add_mutually_exclusive_group(required=True)
    source.add_argument("--client-secrets", type=Path, help="client_secret_*.json of a 'Desktop app' OAuth client")
    source.add_argument("--client-id", help="the OAuth client id (with --client-secret-env)")
    authorize.add_argument("--client-secret-env", default="SOCIALPULSE_GOOGLE_CLIENT_SECRET",
                           help="environment variable holding the OAuth client secret")
    authorize.add_argument("--secrets-file", type=Path, help="where to store the refresh token (default "
                           "~/.config/socialpulse/youtube.json or $SOCIALPULSE_YOUTUBE_SECRETS)")
    authorize.add_argument("--port", type=int, default=8765, help="loopback redirect port (default 8765)")
    authorize.add_argument("--listen", action="store_true",
                           help="catch the redirect on the loopback port instead of pasting the address")
    authorize.add_argument("--airflow-conn", metavar="CONN_ID",
                           help="also print the `airflow connections add` command for this connection id")
    authorize.add_argument("--show", action="store_true", help="also print the refresh token")
    authorize.set_defaults(onboarding=_youtube_authorize)
    access = youtube_sub.add_parser(
        "access-token", help="print a fresh access token (~1 h) from the stored refresh token, for "
        "`export SOCIALPULSE_YOUTUBE_TOKEN=$(socialpulse youtube access-token)`")
    access.add_argument("--channel", help="the channel id (default: the only stored credential)")
    access.add_argument("--secrets-file", type=Path, help="YouTube secrets file")
    access.set_defaults(onboarding=_youtube_access_token)


def run_cli(args: argparse.Namespace) -> int | None:
    """Run an onboarding subcommand; None when `args` belong to another subcommand."""
    handler = getattr(args, "onboarding", None)
    if handler is None:
        return None
    from ingestion.core.registry import RegistryError

    try:
        return int(handler(args))
    except RegistryError as exc:
        print(f"socialpulse: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m ingestion.onboarding.cli doctor`) until `ingestion.cli` wires it."""
    parser = argparse.ArgumentParser(prog="socialpulse")
    add_cli(parser.add_subparsers(dest="command", required=True))
    return run_cli(parser.parse_args(argv)) or 0


# -- handlers --------------------------------------------------------------------------------------


def _settings_or_exit():
    from pydantic import ValidationError

    from ingestion.core.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        print(f"socialpulse: invalid settings (run `socialpulse doctor --offline` for details):\n{exc}",
              file=sys.stderr)
        raise SystemExit(2) from None


def _doctor(args: argparse.Namespace) -> int:
    from ingestion.onboarding.doctor import print_report, run_doctor

    if args.warn_days < 0:
        print("socialpulse: --warn-days must be >= 0", file=sys.stderr)
        return 2
    report = run_doctor(warn_days=args.warn_days, airflow=args.airflow, record=not args.no_record,
                        network=not args.offline, youtube_secrets=args.youtube_secrets)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_report(report)
    return report.exit_code


def _discover(args: argparse.Namespace) -> int:
    from ingestion.onboarding.discover import run_discover

    settings = _settings_or_exit()
    path = args.registry or settings.accounts
    outcome = run_discover(settings, registry_path=path, dry_run=args.dry_run, meta=not args.no_meta,
                           youtube=not args.no_youtube, organisation=args.organisation, population=args.population,
                           youtube_secrets=args.youtube_secrets)
    found = outcome.discovery
    print(f"found {found.count('facebook')} Facebook Pages, {found.count('instagram')} Instagram accounts, "
          f"{found.count('youtube')} YouTube channels")
    for note in found.notes:
        print(f"note: {note}")
    merge = outcome.merge
    print(f"{merge.already} already registered, {len(merge.added)} new"
          + (f" ({merge.guessed} with a guessed department marked '# review')" if merge.guessed else ""))
    if outcome.not_visible:
        print(f"{len(outcome.not_visible)} registered accounts were not found with these credentials "
              f"(run `socialpulse doctor`): {', '.join(outcome.not_visible[:10])}"
              + (" ..." if len(outcome.not_visible) > 10 else ""))
    if outcome.registry_errors:
        print(f"warning: the registry already had problems (kept as they were):\n{outcome.registry_errors}")
    if args.dry_run:
        diff = merge.diff(path)
        print(diff if diff else "no changes")
    elif outcome.written:
        print(f"wrote {path}; review the new entries, then run `socialpulse doctor`")
    else:
        print(f"{path} is up to date")
    return 0


def _token_exchange(args: argparse.Namespace) -> int:
    from ingestion.extract.http import ApiError
    from ingestion.onboarding.graph import make_client
    from ingestion.onboarding.secret_files import SecretFileError, update_env_file
    from ingestion.onboarding.tokens import exchange_long_lived, page_tokens

    settings = _settings_or_exit()
    short = os.environ.get(args.token_env, "").strip()
    secret = os.environ.get(args.app_secret_env, "").strip()
    problems = []
    if not args.app_id:
        problems.append("--app-id is required (or set SOCIALPULSE_META_APP_ID)")
    if not secret:
        problems.append(f"{args.app_secret_env} is not set (the app secret: Meta for Developers > App > "
                        "Inställningar > Grundläggande > Apphemlighet)")
    if not short:
        problems.append(f"{args.token_env} is not set (a user token from the Graph API Explorer)")
    if problems:
        for problem in problems:
            print(f"socialpulse: {problem}", file=sys.stderr)
        return 2
    client = make_client(settings, (short, secret))
    try:
        long_lived = exchange_long_lived(client, settings, args.app_id, secret, short)
        pages = [] if args.no_pages else page_tokens(client, settings, long_lived.token)
    except ApiError as error:
        print(f"socialpulse: the exchange failed: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    values = {args.store_as: long_lived.token, **{p.env_name: p.token for p in pages}}
    try:
        update_env_file(args.env_file, values)
    except (SecretFileError, OSError) as error:
        print(f"socialpulse: cannot write {args.env_file}: {error}", file=sys.stderr)
        return 1
    if long_lived.expires_in_s:
        until = datetime.now(UTC) + timedelta(seconds=long_lived.expires_in_s)
        print(f"long-lived user token: expires in {long_lived.expires_in_s // 86400} days "
              f"({until:%Y-%m-%d}); `socialpulse doctor` warns before then")
    else:
        print("long-lived user token: no expiry reported")
    print(f"Page tokens: {len(pages)} (derived from a long-lived user token they do not expire)")
    print(f"stored in {args.env_file.expanduser()} (mode 0600) as {args.store_as}"
          + (f" and SOCIALPULSE_PAGE_TOKEN_<page id> for {len(pages)} Pages" if pages else ""))
    print("load it where the nightly run starts: `set -a; . FILE; set +a`, or `env_file:` in docker-compose.yml")
    if pages:
        print("to use a Page token, name it in config/accounts.yml on the Page and its Instagram account, e.g.:")
        first = pages[0]
        print(f"    token_env: {first.env_name}    # {first.name}")
    if args.show:
        print(f"{args.store_as}={long_lived.token}")
        for page in pages:
            print(f"{page.env_name}={page.token}")
    else:
        print("tokens not printed (use --show to print them)")
    print("then run `socialpulse doctor`. Recommended instead: a system-user token (docs/setup-meta.md)")
    return 0


def _youtube_authorize(args: argparse.Namespace) -> int:
    from ingestion.extract.http import ApiError
    from ingestion.onboarding import youtube_oauth
    from ingestion.onboarding.graph import make_client
    from ingestion.sources import google_oauth

    settings = _settings_or_exit()
    try:
        if args.client_secrets:
            oauth = google_oauth.OAuthClient.from_client_secrets(args.client_secrets.expanduser())
        else:
            secret = os.environ.get(args.client_secret_env, "").strip()
            if not secret:
                print(f"socialpulse: {args.client_secret_env} is not set (the OAuth client secret)", file=sys.stderr)
                return 2
            oauth = google_oauth.OAuthClient(args.client_id, secret)
        path = google_oauth.secrets_path(args.secrets_file)
        client = make_client(settings, (oauth.client_secret,))
        try:
            result = youtube_oauth.authorize(client, oauth, data_url=settings.youtube_data_url, path=path,
                                             port=args.port, listen=args.listen)
        finally:
            client.close()
    except (google_oauth.OAuthError, ApiError) as error:
        print(f"socialpulse: authorisation failed: {error}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("\nsocialpulse: cancelled", file=sys.stderr)
        return 1
    channels = ", ".join(f"{c['title']} ({c['id']})" for c in result.channels) or "no channel listed"
    print(f"authorised: {channels}; scopes: {' '.join(s.rsplit('/', 1)[-1] for s in result.scopes)}")
    print(f"refresh token stored in {result.path} (mode 0600)")
    if args.airflow_conn:
        print("for Airflow, store the same file in a Connection (the command holds no secret itself):")
        print("    " + youtube_oauth.airflow_connection_command(result.path, args.airflow_conn))
    if args.show:
        print(f"refresh_token={result.refresh_token}")
    print("next: socialpulse accounts discover (adds the channel), then socialpulse doctor")
    return 0


def _youtube_access_token(args: argparse.Namespace) -> int:
    """Print only the access token (stdout is meant for `$(...)`); everything else goes to stderr."""
    from ingestion.extract.http import ApiError
    from ingestion.onboarding.graph import make_client
    from ingestion.sources import google_oauth

    settings = _settings_or_exit()
    path = google_oauth.secrets_path(args.secrets_file)
    try:
        data = google_oauth.load_secrets(path)
        if not data or not data.get("credentials"):
            print(f"socialpulse: no credentials in {path}: run `socialpulse youtube authorize`", file=sys.stderr)
            return 1
        credentials = data["credentials"]
        if args.channel:
            chosen = [c for c in credentials if args.channel in {c.get("channel_id"), *(c.get("channels") or [])}]
        else:
            chosen = credentials if len(credentials) == 1 else []
        if len(chosen) != 1:
            known = ", ".join(str(c.get("channel_id") or c.get("title")) for c in credentials)
            print(f"socialpulse: name one channel with --channel (stored: {known})", file=sys.stderr)
            return 2
        client = make_client(settings)
        try:
            answer = google_oauth.refresh_access_token(client, google_oauth.client_of(data),
                                                        str(chosen[0].get("refresh_token", "")))
        finally:
            client.close()
    except (google_oauth.OAuthError, ApiError) as error:
        print(f"socialpulse: {error}", file=sys.stderr)
        return 1
    print(answer["access_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
