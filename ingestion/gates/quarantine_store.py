"""Quarantine storage: where a batch that failed the load gate is kept, and how it is read back.

The loader (`ingestion.load.loader`) stores a failing batch here; `ingestion.gates.quarantine` lists, shows,
releases (through the loader again) and drops them. This module imports neither, so the loader
and the release path do not import each other. Layout: see `ingestion.gates.quarantine`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.core.settings import Settings
from ingestion.extract import landing

VALIDATION_FILE = "validation.json"
MANIFEST_FILE = "manifest.json"
HISTORY_FILE = "history.jsonl"


class QuarantineError(RuntimeError):
    """Unknown quarantine id, a batch that cannot be released, or a drop without confirmation."""


def now_iso() -> str:
    """Timestamps in validation.json: UTC, ISO 8601."""
    return datetime.now(UTC).isoformat()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path: says whether a batch is still intact."""
    return {str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def folder_for(settings: Settings, quarantine_id: str) -> Path:
    """The folder of one quarantined batch (ids are folder names, see `list_batches`)."""
    if not quarantine_id or "/" in quarantine_id or quarantine_id.startswith("."):
        raise QuarantineError(f"not a quarantine id: {quarantine_id!r}")
    folder = settings.quarantine_dir / quarantine_id
    if not folder.is_dir():
        raise QuarantineError(f"no quarantined batch {quarantine_id!r} under {settings.quarantine_dir}")
    return folder


def store(settings: Settings, gate, *, run_id: str, platform: str, reason: str = "load gate failed") -> Path:
    """Keep a failing batch intact with its validation result; returns the quarantine folder.

    `gate` is the `quality.GateResult` of the batch. Storing the same load again (a release that
    failed the gate again) refreshes the copy and keeps the previous result in `history.jsonl`.
    """
    load_id = gate.load_id
    target = settings.quarantine_dir / landing.safe_name(load_id)
    target.mkdir(parents=True, exist_ok=True)
    previous = target / VALIDATION_FILE
    if previous.exists():
        with (target / HISTORY_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(json.loads(previous.read_text(encoding="utf-8"))) + "\n")
    source = landing.run_dir(settings.landing_dir, run_id) / platform
    copy = target / "landing"
    if source.exists():
        tmp = target / ".landing.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        shutil.rmtree(copy, ignore_errors=True)
        tmp.rename(copy)
    files = file_hashes(copy) if copy.exists() else {}
    (target / MANIFEST_FILE).write_text(
        json.dumps({"landing_source": str(source), "files": files}, indent=1), encoding="utf-8")
    payload = {
        "id": target.name, "status": "quarantined", "reason": reason, "load_id": load_id, "run_id": run_id,
        "platform": platform, "quarantined_at": now_iso(), "failed_accounts": gate.failed_accounts,
        "failed": [
            {"suite": f["suite"], "expectation": f["expectation"],
             "column": f.get("column") or f.get("columns"), "unexpected_count": f.get("unexpected_count"),
             "account_ids": f.get("account_ids", [])}
            for f in gate.failures
        ],
        "gate": gate.to_dict(),
    }
    tmp_file = target / f".{VALIDATION_FILE}.tmp"
    tmp_file.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    tmp_file.replace(previous)
    return target


def read_validation(folder: Path) -> dict[str, Any]:
    """The batch's validation.json ({} when missing or unreadable: listed as plain quarantined)."""
    path = folder / VALIDATION_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def list_batches(settings: Settings) -> list[dict[str, Any]]:
    """One summary per quarantined batch (released ones included, with their status)."""
    root = settings.quarantine_dir
    if not root.exists():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        data = read_validation(folder)
        out.append({
            "id": folder.name,
            "status": data.get("status", "quarantined"),
            "reason": data.get("reason"),
            "load_id": data.get("load_id"),
            "run_id": data.get("run_id"),
            "platform": data.get("platform"),
            "quarantined_at": data.get("quarantined_at"),
            "failed_accounts": data.get("failed_accounts") or sorted((data.get("accounts") or {}).keys()),
            "failed_expectations": sorted({f"{f['suite']}:{f['expectation']}" for f in data.get("failed", [])}),
            "files": len(list((folder / "landing").rglob("*"))) if (folder / "landing").exists() else 0,
        })
    return sorted(out, key=lambda item: (item["quarantined_at"] or "", item["id"]))


def show(settings: Settings, quarantine_id: str) -> dict[str, Any]:
    """Everything about one quarantined batch: validation result, manifest, paths, intactness."""
    folder = folder_for(settings, quarantine_id)
    data = read_validation(folder)
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    copy = folder / "landing"
    current = file_hashes(copy) if copy.exists() else {}
    return {
        **data, "id": folder.name, "path": str(folder), "landing_copy": str(copy),
        "files": manifest.get("files", {}),
        "modified_since_quarantine": sorted(
            name for name in set(current) | set(manifest.get("files", {}))
            if current.get(name) != manifest.get("files", {}).get(name)),
    }


def drop(settings: Settings, quarantine_id: str, *, confirm: bool) -> Path:
    """Delete a quarantined batch for good; refuses unless `confirm` is True."""
    folder = folder_for(settings, quarantine_id)
    if not confirm:
        raise QuarantineError(f"refusing to drop {quarantine_id} without confirmation (--yes)")
    shutil.rmtree(folder)
    return folder
