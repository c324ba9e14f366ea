"""Dependency audit of requirements.lock: pip-audit, then our triage (`security/audit-triage.toml`).

Run by `.ci/run` (and `make audit`) with any Python 3.11; standard library only:

    python3.11 security/audit.py            # install pip-audit in /tmp, audit, triage, exit code
    python3.11 security/audit.py --report F # triage an existing pip-audit JSON report (no network)

pip-audit runs in its own virtualenv under /tmp (never the project's .venv) with `--no-deps
--disable-pip` over the lock file and writes its JSON report; `evaluate()` maps that report and the
triage file to a verdict:

- AUDITED, no untriaged finding                                  -> exit 0
- any finding whose id (or an alias, e.g. its CVE) is not triaged -> exit 1, each one listed
- the vulnerability database answered for no package at all (offline: every package comes back
  "not found on PyPI"), or the service / the tool's install could not be reached
                                                                  -> exit 0 with a loud
  "NOT AUDITED: vulnerability database unreachable" line and the count: nothing was checked, and
  the line says so instead of pip-audit's own "No known vulnerabilities found"
- a malformed triage file, an unreadable report or a pip-audit error that is not a network error
                                                                  -> exit 2 (never a silent pass)

Packages pip-audit skipped while others were audited are listed ("PARTIAL"); findings in the
audited ones still fail. Triage entries that match no finding of a real audit are reported as
stale (fix them in the triage file), without failing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
TRIAGE = REPO / "security" / "audit-triage.toml"
PIP_AUDIT = "pip-audit==2.10.1"
VENV = Path(os.environ.get("SOCIALPULSE_PIP_AUDIT_VENV", "/tmp/socialpulse-pip-audit"))
CACHE = Path(os.environ.get("SOCIALPULSE_PIP_AUDIT_CACHE", "/tmp/socialpulse-pip-audit-cache"))
# What pip-audit prints when it cannot reach its service (requests/urllib3 wording, its own tip).
NETWORK_ERRORS = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Failed to establish a new connection|"
    r"Name or service not known|Temporary failure in name resolution|Network is unreachable|"
    r"Could not connect to|your network may be blocking|timed out|SSLError|ProxyError", re.IGNORECASE)

OK, FINDINGS, ERROR = 0, 1, 2


class TriageError(ValueError):
    """The triage file is malformed: CI fails, a broken triage file must not hide findings."""


@dataclass(frozen=True)
class Accepted:
    id: str
    package: str
    reason: str


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()

    def ids(self) -> set[str]:
        return {self.id.upper(), *(a.upper() for a in self.aliases)}


@dataclass
class Verdict:
    status: str  # AUDITED | PARTIAL | NOT AUDITED
    exit_code: int
    total: int = 0
    audited: int = 0
    skipped: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    untriaged: list[Finding] = field(default_factory=list)
    stale: list[Accepted] = field(default_factory=list)
    reason: str = ""

    def lines(self) -> list[str]:
        if self.status == "NOT AUDITED":
            return [f"NOT AUDITED: vulnerability database unreachable - 0 of {self.total} locked packages "
                    f"audited ({self.reason})",
                    "pip-audit: dependency audit did NOT run against a vulnerability database; this is not a pass"]
        out = [f"pip-audit: {self.status}: {self.audited} of {self.total} locked packages audited, "
               f"{len(self.findings)} finding(s), {len(self.findings) - len(self.untriaged)} triaged, "
               f"{len(self.untriaged)} untriaged"]
        if self.skipped:
            out.append(f"pip-audit: not audited ({len(self.skipped)}): {', '.join(self.skipped)}")
        for f in self.untriaged:
            out.append(f"UNTRIAGED: {f.package} {f.version} {f.id} (aliases: {', '.join(f.aliases) or '-'}; "
                       f"fixed in: {', '.join(f.fix_versions) or 'no fix'}) - upgrade it in requirements.lock "
                       "or accept it in security/audit-triage.toml with a reason")
        for a in self.stale:
            out.append(f"stale triage entry: {a.id} ({a.package}) matches no finding - remove it")
        return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_triage(text: str) -> list[Accepted]:
    """`[[accepted]]` tables with non-empty `id`, `package` and `reason`; anything else is an error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TriageError(f"triage file is not valid TOML: {exc}") from None
    unknown = set(data) - {"accepted"}
    if unknown:
        raise TriageError(f"unknown top-level key(s) in the triage file: {sorted(unknown)}")
    entries = data.get("accepted", [])
    if not isinstance(entries, list):
        raise TriageError("`accepted` must be an array of tables ([[accepted]])")
    out, seen = [], set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise TriageError(f"accepted[{i}] is not a table")
        extra = set(entry) - {"id", "package", "reason"}
        if extra:
            raise TriageError(f"accepted[{i}] has unknown key(s) {sorted(extra)}")
        values = {k: entry.get(k) for k in ("id", "package", "reason")}
        for key, value in values.items():
            if not isinstance(value, str) or not value.strip():
                raise TriageError(f"accepted[{i}] needs a non-empty string `{key}` (a finding is accepted only "
                                  "with a reason)")
        key = (values["id"].strip().upper(), _norm(values["package"]))
        if key in seen:
            raise TriageError(f"accepted[{i}] repeats {values['id']} for {values['package']}")
        seen.add(key)
        out.append(Accepted(values["id"].strip(), _norm(values["package"]), values["reason"].strip()))
    return out


def parse_report(report: dict) -> tuple[int, list[str], list[Finding]]:
    """(packages in the report, skipped package names, findings) of a pip-audit JSON report."""
    deps = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(deps, list):
        raise ValueError("not a pip-audit JSON report: no `dependencies` list")
    skipped, findings = [], []
    for dep in deps:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            raise ValueError(f"not a pip-audit dependency entry: {dep!r}"[:200])
        if "skip_reason" in dep:
            skipped.append(_norm(dep["name"]))
            continue
        for vuln in dep.get("vulns") or []:
            findings.append(Finding(_norm(dep["name"]), str(dep.get("version", "?")), str(vuln["id"]),
                                    tuple(str(a) for a in vuln.get("aliases") or ()),
                                    tuple(str(v) for v in vuln.get("fix_versions") or ())))
    return len(deps), sorted(skipped), findings


def evaluate(report: dict, accepted: list[Accepted]) -> Verdict:
    """The verdict for a pip-audit JSON report and the triage entries (pure: no I/O)."""
    total, skipped, findings = parse_report(report)
    audited = total - len(skipped)
    if audited == 0:
        return Verdict("NOT AUDITED", OK, total=total, skipped=skipped,
                       reason="every package was skipped: " + (_first_skip_reason(report) or "empty lock file"))
    untriaged = [f for f in findings if not any(a.id.upper() in f.ids() and a.package == f.package
                                                 for a in accepted)]
    stale = [a for a in accepted if not any(a.id.upper() in f.ids() and a.package == f.package for f in findings)]
    return Verdict("PARTIAL" if skipped else "AUDITED", FINDINGS if untriaged else OK, total=total,
                   audited=audited, skipped=skipped, findings=findings, untriaged=untriaged, stale=stale)


def _first_skip_reason(report: dict) -> str:
    for dep in report.get("dependencies", []):
        if isinstance(dep, dict) and dep.get("skip_reason"):
            return str(dep["skip_reason"])
    return ""


def locked_packages(lock: Path = LOCK) -> int:
    return sum(1 for line in lock.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.lstrip().startswith(("#", "-")))


def unreachable(total: int, why: str) -> Verdict:
    return Verdict("NOT AUDITED", OK, total=total, reason=why)


def run_pip_audit(report_path: Path, timeout_s: float = 900) -> Verdict | None:
    """Install pip-audit (once) and run it; a Verdict when it could not produce a report, else None."""
    total = locked_packages()
    exe = VENV / "bin" / "pip-audit"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True)
        install = subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                                  PIP_AUDIT], capture_output=True, text=True, timeout=600)
        if install.returncode != 0 or not exe.exists():
            tail = install.stderr.strip()[-300:]
            if NETWORK_ERRORS.search(install.stderr) or "No matching distribution" in install.stderr:
                return unreachable(total, f"{PIP_AUDIT} could not be installed: {tail}")
            print(f"pip-audit: installing {PIP_AUDIT} failed:\n{install.stderr[-2000:]}", file=sys.stderr)
            return Verdict("ERROR", ERROR, total=total, reason="pip-audit install failed")
    report_path.unlink(missing_ok=True)
    proc = subprocess.run(
        [str(exe), "-r", str(LOCK), "--no-deps", "--disable-pip", "--cache-dir", str(CACHE), "--progress-spinner",
         "off", "--aliases", "on", "-f", "json", "-o", str(report_path)],
        capture_output=True, text=True, timeout=timeout_s)
    if report_path.exists():
        return None  # exit 1 with a report means "vulnerabilities found": evaluate() decides
    if NETWORK_ERRORS.search(proc.stderr):
        return unreachable(total, "pip-audit: " + proc.stderr.strip().splitlines()[-1][:300])
    print(f"pip-audit exited {proc.returncode} without a report:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return Verdict("ERROR", ERROR, total=total, reason=f"pip-audit exited {proc.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="triage this pip-audit JSON report instead of running pip-audit")
    parser.add_argument("--triage", type=Path, default=TRIAGE)
    args = parser.parse_args(argv)
    try:
        accepted = parse_triage(args.triage.read_text(encoding="utf-8"))
    except (OSError, TriageError) as exc:
        print(f"pip-audit: ERROR: {exc}", file=sys.stderr)
        return ERROR
    report_path = args.report or Path(os.environ.get("SOCIALPULSE_PIP_AUDIT_REPORT", "/tmp/socialpulse-pip-audit.json"))
    verdict = None if args.report else run_pip_audit(report_path)
    if verdict is None:
        try:
            verdict = evaluate(json.loads(report_path.read_text(encoding="utf-8")), accepted)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"pip-audit: ERROR: unreadable report {report_path}: {exc}", file=sys.stderr)
            return ERROR
    banner = "=" * 100
    print(banner)
    for line in verdict.lines() if verdict.status != "ERROR" else [f"pip-audit: ERROR: {verdict.reason}"]:
        print(line)
    print(banner, flush=True)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
