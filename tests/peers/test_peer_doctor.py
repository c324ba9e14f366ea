"""`socialpulse doctor` says once when the app cannot read other Pages' public fields (issue 22)."""

from __future__ import annotations

from pathlib import Path

from bench.registry import write_registry
from ingestion.core.findings import Severity
from ingestion.onboarding import doctor
from tests.conftest import SANDBOX_NOW

PEERS = """peers:
  - name: Grannby kommun
    accounts:
      - {platform: facebook, id: "300000000000001"}
      - {platform: facebook, id: "300000000000002"}
      - {platform: instagram, username: grannby}
"""


def _doctor(tmp_path: Path, monkeypatch, token: str) -> doctor.DoctorReport:
    path = tmp_path / "accounts.yml"
    with path.open("w", encoding="utf-8") as fh:
        write_registry(fh, 1, 1, 0)
        fh.write(PEERS)
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(path))
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", token)
    return doctor.run_doctor(now=SANDBOX_NOW, airflow=False, record=False)


def test_missing_page_public_metadata_access_is_one_warning(pipeline_env, tmp_path, monkeypatch):
    report = _doctor(tmp_path, monkeypatch, "sandbox-nopagefeature-token-0123456789")
    peers = [f for f in report.findings if f.check == "peers"]
    assert len(peers) == 1 and peers[0].severity is Severity.WARNING
    assert "Page Public Metadata Access" in peers[0].problem and "App Review" in peers[0].fix
    assert report.checked["peer Page probe"] == 1


def test_with_the_feature_doctor_says_nothing_about_peers(pipeline_env, tmp_path, monkeypatch):
    report = _doctor(tmp_path, monkeypatch, "sandbox-test-token-0123456789")
    assert [f for f in report.findings if f.check == "peers"] == []
    assert report.checked["peer Page probe"] == 1
