"""What the checks report (the onboarding doctor, the peer snapshot): one finding per problem, with the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from ingestion.core.redact import redact


class Severity(StrEnum):
    """ERROR: the nightly run would fail (for some account); WARNING: act soon; INFO: context."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One problem: where it is, what it is, and what to do about it."""

    severity: Severity
    check: str  # settings | registry | token | account | warehouse | bi | airflow | ...
    subject: str  # an env var name, a file:line, platform:id, a path (never a secret)
    problem: str
    fix: str = ""

    def redacted(self, secrets: Iterable[str]) -> Finding:
        """The same finding with every known secret and secret-looking parameter masked."""
        secrets = tuple(secrets)
        return replace(
            self,
            subject=redact(self.subject, secrets),
            problem=redact(self.problem, secrets),
            fix=redact(self.fix, secrets),
        )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; stable within a severity."""
    return sorted(findings, key=lambda f: _ORDER[f.severity])
