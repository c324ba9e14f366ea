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

import json
import shutil
from datetime import UTC, datetime
from typing import Any

from ingestion.core.settings import Settings
from ingestion.extract import landing
from ingestion.gates.quarantine_store import (  # noqa: F401  (list_batches, show, drop, store: the public API)
    VALIDATION_FILE,
    QuarantineError,
    drop,
    file_hashes,
    folder_for,
    list_batches,
    now_iso,
    read_validation,
    show,
    store,
)


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
    from ingestion.core.registry import load_registry
    from ingestion.load import loader as load

    folder = folder_for(settings, quarantine_id)
    data = read_validation(folder)
    run_id, platform = data.get("run_id"), data.get("platform")
    if not run_id or not platform or not (folder / "landing").is_dir():
        raise QuarantineError(f"{quarantine_id}: not a releasable batch (no run id, platform or landing copy)")
    target = landing.run_dir(settings.landing_dir, run_id) / platform
    copy = folder / "landing"
    if target.exists() and file_hashes(target) != file_hashes(copy):
        keep = folder / "replaced_landing" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(keep))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(copy, target)

    registry = registry or load_registry(settings.accounts)
    result = load.load_run(settings, registry, run_id, platform)
    data = read_validation(folder)  # a failed release rewrote it
    if result.status in ("committed", "already_loaded"):
        data.update(status="released", released_at=now_iso(), release={"status": result.status,
                                                                      "observations": result.observations})
        (folder / VALIDATION_FILE).write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return {"id": folder.name, "status": result.status, "load": result.to_dict()}


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
    from ingestion.gates.quality import GateError

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
