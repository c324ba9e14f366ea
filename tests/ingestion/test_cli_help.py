"""A newcomer's first step: `socialpulse --help` and every (nested) subcommand's `--help` say what
the command does and what each option means, through the real console script.

The command tree is read from the help output itself (the `{a,b,...}` choices in each usage), so a
new subcommand is covered without editing this test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = str(Path(sys.executable).parent / "socialpulse")


def _help(*path: str) -> str:
    proc = subprocess.run([SCRIPT, *path, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout


def _children(text: str) -> list[str]:
    usage = text.split("\n\n", 1)[0]
    match = re.search(r"\{([a-z,-]+)\}\s+\.\.\.", usage)  # subcommands, not an option's choices
    return match.group(1).split(",") if match else []


def _walk(*path: str):
    text = _help(*path)
    yield path, text
    if path[:1] == ("sandbox",):  # the sandbox's own tree is listed, not descended into twice
        return
    for child in _children(text):
        yield from _walk(*path, child)


def test_every_subcommand_help_says_what_it_does_and_what_each_option_means():
    seen = dict(_walk())
    assert {("run",), ("backfill",), ("status",), ("doctor",), ("report",), ("quarantine", "release")} <= set(seen)
    for path, text in seen.items():
        sections = text.split("\n\n")
        description = sections[1] if len(sections) > 1 else ""
        assert description and not description.startswith(("options:", "positional arguments:")), \
            f"`socialpulse {' '.join(path)} --help` has no description"
        options = text.split("options:", 1)[1] if "options:" in text else ""
        for line in options.splitlines():
            # an option line with nothing after its name (and no continuation) has no help text
            m = re.match(r"^  (-[-\w]+(?:[ ,=][A-Z_]+)?(?:, -[-\w]+(?: [A-Z_]+)?)?)\s*$", line)
            if m:
                nxt = options.splitlines()[options.splitlines().index(line) + 1:][:1]
                assert nxt and nxt[0].startswith(" " * 10), \
                    f"`socialpulse {' '.join(path)}`: option {m.group(1)!r} has no help text"
