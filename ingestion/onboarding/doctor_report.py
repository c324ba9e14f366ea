"""What one `socialpulse doctor` run found and checked: the report every check adds to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingestion.core.findings import Finding, Severity, sort_findings
from ingestion.onboarding.tokens import (
    TokenCheck,
)


@dataclass
class DoctorReport:
    """All findings of one doctor run, and what was checked."""

    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    token_checks: list[TokenCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def exit_code(self) -> int:
        """1 when the nightly run would fail, else 0."""
        return 1 if self.errors else 0

    def add(self, severity: Severity, check: str, subject: str, problem: str, fix: str = "") -> None:
        self.findings.append(Finding(severity, check, subject, problem, fix))

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "checked": self.checked,
            "findings": [f.__dict__ | {"severity": str(f.severity)} for f in sort_findings(self.findings)],
            "notes": self.notes,
        }
