"""Fixtures for the BI tests: a settings object on a fresh data folder with a hand-made warehouse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.bi.warehouse_factory import build_warehouse


@pytest.fixture
def bi_settings(tmp_path, monkeypatch):
    """Settings whose data folder holds a small warehouse with the marts' columns."""
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    from ingestion.core.settings import load_settings

    settings = load_settings()
    build_warehouse(settings.warehouse)
    return settings


def keep_artefact(path: Path) -> None:
    """Copy a test artefact to $SOCIALPULSE_TEST_ARTEFACTS when set (CI uploads that folder)."""
    target = os.environ.get("SOCIALPULSE_TEST_ARTEFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)
