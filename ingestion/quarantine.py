"""Quarantine: load batches that failed the gate, kept intact outside the warehouse.

Layout, one folder per load: `$SOCIALPULSE_HOME/quarantine/<load id, file-safe>/`
- `landing/`         the platform's landing files of the run, byte for byte (the batch);
- `manifest.json`    sha256 of every landing file as quarantined (so "intact" can be checked);
- `validation.json`  status, load/run/platform, and the gate result: which suite, expectation,
                     accounts and sample rows failed;
- `history.jsonl`    earlier validation results (one per failed release);
- `replaced_landing/<timestamp>/`  landing files a release overwrote, when they differed.

A quarantined batch is never in raw. An engineer inspects it (`socialpulse quarantine list|show`),
fixes the landing files in `landing/` above or the metric registry, and releases it: the batch is
copied back to the run's landing folder and loaded through the normal loader path, which runs the
gate again and commits at most once (the load id is the same, and a committed load id is never
loaded twice). `drop` deletes a quarantined batch and needs an explicit confirmation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion import landing
from ingestion.settings import Settings

VALIDATION_FILE = "validation.json"
MANIFEST_FILE = "manifest.json"
HISTORY_FILE = "history.jsonl"


class QuarantineError(RuntimeError):
    """Unknown quarantine id, a batch that cannot be released, or a drop without confirmation."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
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
    files = _manifest(copy) if copy.exists() else {}
    (target / MANIFEST_FILE).write_text(
        json.dumps({"landing_source": str(source), "files": files}, indent=1), encoding="utf-8")
    payload = {
        "id": target.name, "status": "quarantined", "reason": reason, "load_id": load_id, "run_id": run_id,
        "platform": platform, "quarantined_at": _now(), "failed_accounts": gate.failed_accounts,
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


def _read(folder: Path) -> dict[str, Any]:
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
        data = _read(folder)
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
    data = _read(folder)
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    copy = folder / "landing"
    current = _manifest(copy) if copy.exists() else {}
    return {
        **data, "id": folder.name, "path": str(folder), "landing_copy": str(copy),
        "files": manifest.get("files", {}),
        "modified_since_quarantine": sorted(
            name for name in set(current) | set(manifest.get("files", {}))
            if current.get(name) != manifest.get("files", {}).get(name)),
    }


def release(settings: Settings, quarantine_id: str, registry=None) -> dict[str, Any]:
    """Re-validate a quarantined batch and commit it through the normal loader path.

    The quarantined copy (possibly fixed by an engineer) replaces the run's landing files, then
    `load.load_run` runs with the same run id and platform: the gate runs again, and the batch is
    committed only if it passes. The load id is unchanged, so a batch is committed exactly once:
    releasing an already committed batch is a no-op (`already_loaded`).

    Returns:
        {"id", "status": committed | already_loaded | quarantined | ..., "load": LoadResult dict}

    Raises:
        QuarantineError: unknown id, or a quarantine entry that does not name a run and platform.
        quality.GateError: the gate itself broke during re-validation.
    """
    from ingestion import load
    from ingestion.registry import load_registry

    folder = folder_for(settings, quarantine_id)
    data = _read(folder)
    run_id, platform = data.get("run_id"), data.get("platform")
    if not run_id or not platform or not (folder / "landing").is_dir():
        raise QuarantineError(f"{quarantine_id}: not a releasable batch (no run id, platform or landing copy)")
    target = landing.run_dir(settings.landing_dir, run_id) / platform
    copy = folder / "landing"
    if target.exists() and _manifest(target) != _manifest(copy):
        keep = folder / "replaced_landing" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(keep))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(copy, target)

    registry = registry or load_registry(settings.accounts)
    result = load.load_run(settings, registry, run_id, platform)
    data = _read(folder)  # a failed release rewrote it
    if result.status in ("committed", "already_loaded"):
        data.update(status="released", released_at=_now(), release={"status": result.status,
                                                                      "observations": result.observations})
        (folder / VALIDATION_FILE).write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return {"id": folder.name, "status": result.status, "load": result.to_dict()}


def drop(settings: Settings, quarantine_id: str, *, confirm: bool) -> Path:
    """Delete a quarantined batch for good; refuses unless `confirm` is True."""
    folder = folder_for(settings, quarantine_id)
    if not confirm:
        raise QuarantineError(f"refusing to drop {quarantine_id} without confirmation (--yes)")
    shutil.rmtree(folder)
    return folder


# ------------------------------------------------------------------------------------------- CLI


def add_parser(subparsers) -> None:
    """`socialpulse quarantine list|show ID|release ID|drop ID --yes`."""
    parser = subparsers.add_parser(
        "quarantine", help="inspect, release or drop batches that failed the load gate",
        description="Batches that failed the load gate are kept intact under $SOCIALPULSE_HOME/quarantine instead "
        "of being committed: list them, show why, release one after a fix (re-validated, committed exactly once) "
        "or drop it.")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="quarantined batches with the failed suites and accounts")
    batch_id = "batch id, as `quarantine list` shows it"
    actions.add_parser("show", help="one batch: validation result, files, sample rows").add_argument(
        "id", help=batch_id)
    actions.add_parser("release", help="re-validate and commit (exactly once) after a fix").add_argument(
        "id", help=batch_id)
    drop_parser = actions.add_parser("drop", help="delete a quarantined batch")
    drop_parser.add_argument("id", help=batch_id)
    drop_parser.add_argument("--yes", action="store_true", help="confirm the deletion")


def run_cli(settings: Settings, args) -> int:
    """Run one quarantine action; exit codes: 0 ok, 1 release did not commit (or the gate broke),
    2 bad id or usage."""
    from ingestion.quality import GateError

    try:
        if args.action == "list":
            items = list_batches(settings)
            for item in items:
                print(f"{item['id']:<40} {item['status']:<12} {item['platform'] or '-':<10} "
                      f"accounts={','.join(item['failed_accounts'][:5]) or '-'} "
                      f"failed={','.join(item['failed_expectations'][:3]) or item['reason'] or '-'}")
            if not items:
                print("no quarantined batches")
            return 0
        if args.action == "show":
            print(json.dumps(show(settings, args.id), indent=1, default=str))
            return 0
        if args.action == "release":
            outcome = release(settings, args.id)
            print(json.dumps(outcome, indent=1, default=str))
            return 0 if outcome["status"] in ("committed", "already_loaded") else 1
        if args.action == "drop":
            print(f"dropped {drop(settings, args.id, confirm=args.yes)}")
            return 0
    except QuarantineError as exc:
        print(f"socialpulse quarantine: {exc}")
        return 2
    except GateError as exc:  # the gate itself broke while re-validating
        print(f"socialpulse quarantine: gate error (not a data failure), nothing committed: {exc}")
        return 1
    return 2
