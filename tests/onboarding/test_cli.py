"""The two-line wiring into `ingestion.cli`: `add_cli(sub)` and `run_cli(args)`."""

from __future__ import annotations

import argparse

from ingestion.onboarding.cli import add_cli, run_cli


def _parser() -> argparse.ArgumentParser:
    # The subcommands ingestion.cli already has, plus ours: no name clashes.
    parser = argparse.ArgumentParser(prog="socialpulse")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("sandbox", "run", "ingest", "backfill", "replay", "status", "quarantine"):
        sub.add_parser(name)
    add_cli(sub)
    return parser


def test_subcommands_parse():
    parser = _parser()
    args = parser.parse_args(["doctor", "--warn-days", "30", "--airflow"])
    assert (args.command, args.warn_days, args.airflow) == ("doctor", 30, True)
    args = parser.parse_args(["accounts", "discover", "--dry-run"])
    assert args.dry_run and args.accounts_command == "discover"
    args = parser.parse_args(["token", "exchange", "--app-id", "1", "--token-env", "T"])
    assert args.app_secret_env == "SOCIALPULSE_META_APP_SECRET" and not args.show
    args = parser.parse_args(["youtube", "authorize", "--client-id", "x", "--listen"])
    assert args.listen and args.port == 8765


def test_run_cli_ignores_other_commands():
    assert run_cli(_parser().parse_args(["status"])) is None


def test_doctor_offline_through_the_wiring(onboarding_env, capsys):
    # no registry yet: the doctor says so and exits 1
    assert run_cli(_parser().parse_args(["doctor", "--offline", "--no-airflow"])) == 1
    assert "accounts discover" in capsys.readouterr().out


def test_invalid_registry_during_discover_exits_2(onboarding_env, capsys):
    (onboarding_env / "accounts.yml").write_text("organisation: [\n", encoding="utf-8")
    assert run_cli(_parser().parse_args(["accounts", "discover", "--no-youtube"])) == 2
