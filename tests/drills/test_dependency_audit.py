"""`pip-audit` over requirements.lock, in its own virtualenv under /tmp (never the project's .venv).

Opt-in (`SOCIALPULSE_PIP_AUDIT=1`): it asks the vulnerability service about every locked package
(~190 look-ups), so it runs as its own CI step, not in every `make test`. When pip-audit cannot be
installed, or the vulnerability database cannot be reached (offline: every package comes back
"not found"), the test is skipped with that reason - never a silent pass. Findings must be triaged in
docs/security.md and listed in TRIAGED below (id -> why it is accepted), or the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drills.harness import REPO

PIP_AUDIT = "pip-audit==2.10.1"
VENV = Path(os.environ.get("SOCIALPULSE_PIP_AUDIT_VENV", "/tmp/socialpulse-pip-audit"))
CACHE = Path(os.environ.get("SOCIALPULSE_PIP_AUDIT_CACHE", "/tmp/socialpulse-pip-audit-cache"))
# Vulnerability id -> reason it is accepted (keep in sync with docs/security.md, "Dependency audit").
TRIAGED: dict[str, str] = {}

pytestmark = pytest.mark.drills_long


def _pip_audit() -> Path:
    exe = VENV / "bin" / "pip-audit"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True)
    install = subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", PIP_AUDIT], capture_output=True,
                             text=True, timeout=600)
    if install.returncode != 0 or not exe.exists():
        pytest.skip(f"{PIP_AUDIT} could not be installed: {install.stderr.strip()[-300:]}")
    return exe


def test_locked_dependencies_have_no_untriaged_vulnerabilities(tmp_path):
    if os.environ.get("SOCIALPULSE_PIP_AUDIT") != "1":
        pytest.skip("opt-in: SOCIALPULSE_PIP_AUDIT=1 (queries the vulnerability service for every locked package)")
    report = tmp_path / "pip-audit.json"
    proc = subprocess.run(
        [str(_pip_audit()), "-r", str(REPO / "requirements.lock"), "--no-deps", "--disable-pip",
         "--cache-dir", str(CACHE), "--progress-spinner", "off", "-f", "json", "-o", str(report)],
        capture_output=True, text=True, timeout=900)
    if not report.exists():
        pytest.skip(f"pip-audit could not reach the vulnerability service: {proc.stderr.strip()[-400:]}")
    dependencies = json.loads(report.read_text(encoding="utf-8"))["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(f"vulnerability database unreachable: 0 of {len(dependencies)} locked packages audited "
                    f"({dependencies[0].get('skip_reason') if dependencies else 'empty lock'})")
    skipped = sorted(d["name"] for d in dependencies if "skip_reason" in d)
    findings = [(d["name"], d["version"], v["id"], v.get("fix_versions")) for d in audited for v in d.get("vulns", [])]
    print(f"pip-audit: {len(audited)} of {len(dependencies)} packages audited, {len(findings)} findings; "
          f"not audited: {skipped}")
    untriaged = [f for f in findings if f[2] not in TRIAGED]
    assert untriaged == [], f"triage these in docs/security.md and TRIAGED: {untriaged}"
