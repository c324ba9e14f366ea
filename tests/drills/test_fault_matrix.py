"""Fault matrix: every sandbox fault profile x {nightly ingest, backfill without transform}.

Each cell: a 6/6/2 registry; the profile hits one account per platform (`harness.FAULTED`) through
`SandboxConfig.account_faults`, the other 11 stay healthy. The faulted run is followed by a clean
re-run (a sandbox without faults, same seed and clock). Per cell:

- accounts completed, accounts failed with their error class, and whether every failure is
  reported in `raw.account_runs`;
- no collateral damage: only faulted accounts may fail;
- no silent loss: an account reported as completed has every truth value of the window;
- after the re-run: 0 truth values lost, 0 duplicates, 0 rows of uncommitted loads.

The table of all cells is printed at the end of the test run (`conftest.pytest_terminal_summary`).
A handful of cells run in the fast tier; the rest are `drills_long`.
"""

from __future__ import annotations

import shutil

import pytest

from tests.drills.harness import FAULTED, PROFILE_ORDER, run_cell

# What a profile that hits an account on every request may leave failed after the faulted run
# (transient profiles must all complete within the retry budget: K=2 consecutive faults < 4 retries).
PERMANENT = {
    "expired_token": {"facebook": "auth", "instagram": "auth", "youtube": "auth"},
    "revoked_token": {"facebook": "auth", "instagram": "auth", "youtube": "auth"},
    # Meta answers data: [] -> the account is cut out and reported instead of loaded with holes.
    "empty": {"facebook": "empty_response", "instagram": "empty_response", "youtube": "garbage_response"},
    # YouTube has no "time to regain access": a channel throttled for a minute answers 429 with
    # Retry-After: 1 throughout, so the 4 retries run out and the channel fails (reported, re-run).
    "throttle": {"youtube": "throttled"},
}
FAST = {("expired_token", "nightly"), ("empty", "backfill"), ("throttle", "backfill"), ("truncated", "backfill")}
CELLS = [
    pytest.param(profile, mode, id=f"{profile}-{mode}",
                 marks=() if (profile, mode) in FAST else (pytest.mark.drills_long,))
    for profile in PROFILE_ORDER for mode in ("nightly", "backfill")
]


@pytest.mark.parametrize(("profile", "mode"), CELLS)
def test_fault_cell(profile, mode, drill_dir, fault_matrix):
    workdir = drill_dir / "matrix" / f"{profile}-{mode}"  # kept for the security scan
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cell = run_cell(profile, mode, workdir)
    fault_matrix.append(cell.row())
    assert cell.crashed is None, f"the run crashed instead of classifying the fault: {cell.crashed}"
    assert cell.collateral == [], f"healthy accounts failed: {cell.collateral}"
    expected = PERMANENT.get(profile, {})
    want = {f"{platform}:{FAULTED[platform]}": cls for platform, cls in expected.items()}
    assert cell.failed == want, f"failed accounts/classes {cell.failed}, expected {want}"
    assert cell.not_reported == [], f"failures missing from raw.account_runs: {cell.not_reported}"
    assert cell.silent_loss == [], f"accounts reported complete but missing data: {cell.silent_loss[:5]}"
    assert cell.rerun_failed == 0
    if mode == "backfill":  # the ledger re-plans exactly the failed accounts
        assert cell.rerun_accounts == len(cell.failed)
    assert cell.lost == 0, f"truth values lost after the clean re-run: {cell.lost_sample}"
    assert cell.dups == {"observation_dups": 0, "response_dups": 0, "orphans": 0, "latest_dups": 0}
