"""The dbt project as parsed once per process, and when that parse may still be used.

Why (issue 21): every `dbt build` first re-reads the project: with partial parsing that is ~0.7-0.8 s
of the nightly's dbt task (loading partial_parse.msgpack, hashing every file, rebuilding the
manifest), before the first node runs. dbt can start from a manifest parsed earlier instead
(`dbtRunner(manifest=...)`, its documented way to reuse objects across invocations), but it then
trusts that manifest blindly: it does not look at the project again. So the parse is kept together
with a fingerprint of everything dbt's parse reads, and used only while that fingerprint still holds:

* every file of the project folder (bytes, not timestamps: a checkout that restores an mtime still
  changes the key), except dbt's own outputs when someone ran dbt inside the folder;
* the environment it reads: the variables the project's `env_var(...)` calls name (the warehouse
  path, DuckDB limits, the unit-test switch; found in the files themselves, so a new one counts
  without a change here) and dbt's own `DBT_*` flags. Only those: tokens and other settings never
  enter the digest.

A long-lived Celery worker parses once before its pool forks (ingestion.pipeline.preload), so each
forked task process starts with the parse done, and a deploy that changes the project changes the
fingerprint: the next build parses again instead of running stale SQL. Hashing the ~110 files takes
~7 ms.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# dbt's outputs when it is run by hand inside the project folder (the pipeline writes them under
# $SOCIALPULSE_HOME instead): not inputs of a parse.
_OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages"})
# A variable the project reads with Jinja's env_var('NAME', ...).
_ENV_VAR_CALL = re.compile(rb"""env_var\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")
# dbt's own flags from the environment (DBT_PARTIAL_PARSE, DBT_TARGET_PATH, ...).
_DBT_FLAG_PREFIX = "DBT_"


def project_fingerprint(project_dir: Path) -> str:
    """A digest of what a parse of `project_dir` reads: its files and the environment they name."""
    digest = hashlib.blake2b(digest_size=16)
    names = {key for key in os.environ if key.startswith(_DBT_FLAG_PREFIX)}
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in _OUTPUT_DIRS or not path.is_file():
            continue
        content = path.read_bytes()
        names.update(name.decode() for name in _ENV_VAR_CALL.findall(content))
        digest.update(relative.as_posix().encode() + b"\0" + content + b"\0")
    for name in sorted(names):
        digest.update(f"{name}={os.environ.get(name)}\0".encode())
    return digest.hexdigest()


@dataclass
class ParsedProject:
    """One process's parsed manifest and the fingerprint it was parsed under."""

    fingerprint: str | None = None
    manifest: Any = None  # dbt.contracts.graph.manifest.Manifest (dbt is imported lazily)

    def current(self, fingerprint: str) -> Any:
        """The manifest when it was parsed under `fingerprint`, else None (parse again)."""
        return self.manifest if self.manifest is not None and fingerprint == self.fingerprint else None

    def keep(self, fingerprint: str, manifest: Any) -> None:
        self.fingerprint, self.manifest = fingerprint, manifest
