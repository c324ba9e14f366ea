"""The dependency audit's verdict logic (`security/audit.py`), on recorded pip-audit reports.

The audit itself runs as its own step in `.ci/run` (pip-audit needs its vulnerability database,
which this dev machine cannot reach: the step then prints "NOT AUDITED ..." instead of passing
silently). These tests pin what the step decides, without network:

- `recorded/pip-audit-offline.json`: pip-audit 2.10.1's real report over requirements.lock on the dev
  machine (the database unreachable: every package "not found on PyPI");
- `recorded/pip-audit-findings.json`: a report with two known advisories (requests 2.31.0, Jinja2 3.1.2),
  a clean package and a skipped one, written by pip-audit 2.10.1's own JSON formatter
  (`pip_audit._format.json.JsonFormat`), so it has the tool's exact shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from security import audit
from tests.drills.harness import REPO

DATA = Path(__file__).parent / "recorded"
OFFLINE = json.loads((DATA / "pip-audit-offline.json").read_text(encoding="utf-8"))
FINDINGS = json.loads((DATA / "pip-audit-findings.json").read_text(encoding="utf-8"))


def _triage(*entries: tuple[str, str, str]) -> list[audit.Accepted]:
    body = "".join(f'[[accepted]]\nid = "{i}"\npackage = "{p}"\nreason = "{r}"\n' for i, p, r in entries)
    return audit.parse_triage(body)


def test_the_repo_triage_file_is_valid_and_every_entry_has_a_reason():
    accepted = audit.parse_triage(audit.TRIAGE.read_text(encoding="utf-8"))
    assert all(a.reason for a in accepted)


@pytest.mark.parametrize(("body", "error"), [
    ('[[accepted]]\nid = "GHSA-1"\npackage = "x"\n', "reason"),
    ('[[accepted]]\nid = "GHSA-1"\npackage = "x"\nreason = "  "\n', "reason"),
    ('[[accepted]]\npackage = "x"\nreason = "r"\n', "id"),
    ('[[accepted]]\nid = "GHSA-1"\npackage = "x"\nreason = "r"\nuntil = "never"\n', "unknown key"),
    ('[[accepted]]\nid = "GHSA-1"\npackage = "x"\nreason = "r"\n[[accepted]]\nid = "ghsa-1"\npackage = "X"\n'
     'reason = "again"\n', "repeats"),
    ('ignore = ["GHSA-1"]\n', "unknown top-level"),
    ('accepted = "GHSA-1"\n', "array of tables"),
    ('[[accepted]\nid = 1\n', "not valid TOML"),
])
def test_a_malformed_triage_file_is_an_error(body, error):
    with pytest.raises(audit.TriageError, match=error):
        audit.parse_triage(body)


def test_offline_report_is_not_audited_and_says_so():
    verdict = audit.evaluate(OFFLINE, [])
    assert verdict.status == "NOT AUDITED" and verdict.exit_code == audit.OK
    assert verdict.total == len(OFFLINE["dependencies"]) > 100 and verdict.audited == 0
    text = "\n".join(verdict.lines())
    assert text.startswith(f"NOT AUDITED: vulnerability database unreachable - 0 of {verdict.total} ")
    assert "No known vulnerabilities" not in text and "AUDITED:" not in text.replace("NOT AUDITED:", "")


def test_untriaged_findings_fail_and_are_listed():
    verdict = audit.evaluate(FINDINGS, [])
    assert verdict.exit_code == audit.FINDINGS and verdict.status == "PARTIAL"
    assert (verdict.total, verdict.audited, verdict.skipped) == (4, 3, ["socialpulse-internal"])
    assert sorted(f.id for f in verdict.untriaged) == ["GHSA-9wx4-h78v-vm56", "GHSA-h5c8-rqwp-cp95"]
    text = "\n".join(verdict.lines())
    assert "UNTRIAGED: requests 2.31.0 GHSA-9wx4-h78v-vm56 (aliases: CVE-2024-35195; fixed in: 2.32.0)" in text
    assert "not audited (1): socialpulse-internal" in text


def test_triage_by_id_or_alias_for_the_right_package_only():
    one = audit.evaluate(FINDINGS, _triage(("GHSA-9wx4-h78v-vm56", "requests", "verify=False is never used")))
    assert one.exit_code == audit.FINDINGS and [f.package for f in one.untriaged] == ["jinja2"]
    both = audit.evaluate(FINDINGS, _triage(("GHSA-9wx4-h78v-vm56", "requests", "verify=False is never used"),
                                            ("cve-2024-22195", "Jinja2", "xmlattr is not used on user input")))
    assert both.exit_code == audit.OK and both.untriaged == [] and len(both.findings) == 2
    wrong_package = audit.evaluate(FINDINGS, _triage(("GHSA-9wx4-h78v-vm56", "urllib3", "wrong package"),
                                                     ("CVE-2024-22195", "jinja2", "ok")))
    assert [f.package for f in wrong_package.untriaged] == ["requests"]
    assert [a.package for a in wrong_package.stale] == ["urllib3"]
    assert "stale triage entry: GHSA-9wx4-h78v-vm56 (urllib3)" in "\n".join(wrong_package.lines())


def test_a_clean_full_audit_passes():
    clean = {"dependencies": [{"name": "duckdb", "version": "2.0.1", "vulns": []},
                              {"name": "requests", "version": "2.34.2", "vulns": []}], "fixes": []}
    verdict = audit.evaluate(clean, [])
    assert (verdict.status, verdict.exit_code, verdict.audited) == ("AUDITED", audit.OK, 2)


@pytest.mark.parametrize("report", [{}, {"dependencies": "x"}, {"dependencies": [{"version": "1"}]}])
def test_a_report_that_is_not_pip_audit_json_is_an_error(report):
    with pytest.raises(ValueError):
        audit.evaluate(report, [])


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "security" / "audit.py"), *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO)


def test_the_ci_step_exit_codes_on_recorded_reports(tmp_path):
    offline = _cli("--report", str(DATA / "pip-audit-offline.json"))
    assert offline.returncode == 0, offline.stderr
    assert "NOT AUDITED: vulnerability database unreachable - 0 of 187 locked packages audited" in offline.stdout
    findings = _cli("--report", str(DATA / "pip-audit-findings.json"))
    assert findings.returncode == 1 and findings.stdout.count("UNTRIAGED: ") == 2
    bad = tmp_path / "triage.toml"
    bad.write_text('[[accepted]]\nid = "GHSA-9wx4-h78v-vm56"\npackage = "requests"\n', encoding="utf-8")
    broken = _cli("--report", str(DATA / "pip-audit-findings.json"), "--triage", str(bad))
    assert broken.returncode == 2 and "reason" in broken.stderr
    garbage = tmp_path / "report.json"
    garbage.write_text("<html>proxy error</html>", encoding="utf-8")
    assert _cli("--report", str(garbage)).returncode == 2


def test_ci_runs_the_audit_step_before_the_tests():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True).returncode == 0
    lines = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    audit_step = next(i for i, line in enumerate(lines) if "security/audit.py" in line)
    assert audit_step < lines.index("make test")
