"""`python -m ingestion.publish.report [--lang sv|en]` (the `socialpulse report` command calls the same)."""

from __future__ import annotations

import argparse
import sys

from ingestion.core.settings import load_settings
from ingestion.publish.report import LANGS, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socialpulse report", description="render the nightly HTML report")
    parser.add_argument("--lang", choices=LANGS, default="sv", help="label language (default: sv)")
    args = parser.parse_args(argv)
    try:
        path = render(load_settings(), lang=args.lang)
    except FileNotFoundError as exc:
        print(f"socialpulse report: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
