"""Secret files outside the repository: mode 0600 in a 0700 folder, written atomically."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = Path("~/.config/socialpulse")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")


class SecretFileError(RuntimeError):
    """A secrets file would land in the repository, or cannot be written."""


def inside_project(path: Path) -> bool:
    """Whether `path` is inside the project folder (secrets never go there)."""
    try:
        path.expanduser().resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        return False
    return True


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600 (folder created 0700); refuses paths inside the project."""
    path = path.expanduser()
    if inside_project(path):
        raise SecretFileError(f"{path} is inside the project folder: secrets never go into the repository; "
                              f"use a path under {DEFAULT_DIR} or elsewhere outside {PROJECT_ROOT}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)  # an old tmp file keeps its mode through O_CREAT
    os.replace(tmp, path)


def is_private(path: Path) -> bool:
    """Whether only the owner may read the file."""
    return not (path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def update_env_file(path: Path, values: dict[str, str]) -> None:
    """Set `NAME=value` lines in a shell/compose env file, keeping every other line as it is."""
    path = path.expanduser()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else [
        "# socialpulse secrets (outside the repository; mode 0600). Load with: set -a; . THIS_FILE; set +a",
    ]
    pending = dict(values)
    out = []
    for line in lines:
        match = _ENV_LINE.match(line)
        if match and match.group(1) in pending:
            out.append(f"{match.group(1)}={pending.pop(match.group(1))}")
        else:
            out.append(line)
    out += [f"{name}={value}" for name, value in pending.items()]
    write_private(path, "\n".join(out) + "\n")
