"""The nightly peer snapshot against the real sandbox: real HTTP, landing, GX gate and DuckDB.

The sandbox clock is frozen and moved one day per night; what lands in the warehouse must equal
the sandbox's ground truth, history must grow one row per account and night, and each failure
must be one finding while the other accounts load."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pandas as pd

from ingestion.core.registry import load_registry
from ingestion.load import peers
from sandbox.peers import peer_truth
from tests.conftest import REPO, SANDBOX_NOW

SEED = 42
ERRORS_REGISTRY = """organisation:
  name: Test kommun
accounts:
  - {platform: instagram, id: "17841400000000001", name: IG, department: X}
  - {platform: facebook, id: "100000000000001", name: FB, department: X}
peers:
  - name: Grannby kommun
    population: 40000
    accounts:
      - {platform: instagram, username: grannbykommun}
      - {platform: instagram, username: renamed_grannby}
      - {platform: instagram, username: private_grannbyskolan}
      - {platform: instagram, username: agegated_grannbybaren}
      - {platform: facebook, id: "300000000000011"}
      - {platform: facebook, id: "400000000000012"}
      - {platform: youtube, handle: "@grannby"}
      - {platform: youtube, handle: "@renamed_grannby"}
"""


def _rows(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _night(settings, sandbox, night: int, registry=None):
    now = SANDBOX_NOW + timedelta(days=night)
    sandbox.set_now(now)
    return now, peers.snapshot(settings, registry, run_id=f"peers-night-{night}", now=now)


def test_three_nights_equal_the_sandbox_truth_and_history_grows(pipeline_env, sandbox):
    registry = load_registry(REPO / "config" / "accounts.yml")
    refs = peers.peer_refs(registry)
    for night in range(3):
        now, result = _night(pipeline_env, sandbox, night)
        assert result.status == "committed" and result.findings == []
        assert result.accounts_ok == len(refs)
        day = (now - timedelta(hours=8)).date() - timedelta(days=1)
        got = {(p, r): (f, h) for p, r, f, h in _rows(pipeline_env, f"""
            select platform, ref, followers, followers_hidden from raw.peer_snapshots
            where snapshot_date = '{day}'""")}
        assert len(got) == len(refs)
        for ref in refs:
            truth = peer_truth(SEED, ref.platform, ref.ref, now, media_limit=peers.MEDIA_LIMIT)
            if ref.platform == "youtube":
                assert got[(ref.platform, ref.ref)] == (truth["subscriber_count"], truth["hidden"])
            else:
                assert got[(ref.platform, ref.ref)] == (truth["followers"], False)
            if ref.platform == "instagram":
                media = _rows(pipeline_env, f"""select like_count, comments_count from raw.peer_media
                    where ref = '{ref.ref}' and snapshot_date = '{day}' order by published_at desc""")
                assert media == [(m["like_count"], m["comments_count"]) for m in truth["media"]]
    # history: one row per account and night, nothing before the first night
    per_account = _rows(pipeline_env, "select platform, ref, count(*), min(snapshot_date) from raw.peer_snapshots "
                                      "group by all")
    first_day = (SANDBOX_NOW - timedelta(hours=8)).date() - timedelta(days=1)
    assert {(n, d) for _, _, n, d in per_account} == {(3, first_day)}
    assert _rows(pipeline_env, "select count(*), count(distinct run_id) from raw.peer_loads") == [(3, 3)]
    # landed verbatim: the warehouse body is the landed body
    landed = [json.loads(line) for line in
              (pipeline_env.landing_dir / "peers-night-0" / "peers" / "instagram.jsonl").read_text().splitlines()]
    stored = dict(_rows(pipeline_env, "select response_id, body::varchar from raw.peer_responses"))
    assert all(json.loads(stored[r["response_id"]]) == r["body"] for r in landed)


def test_each_failure_is_one_finding_and_the_others_load(pipeline_env, sandbox, tmp_path):
    path = tmp_path / "accounts.yml"
    path.write_text(ERRORS_REGISTRY, encoding="utf-8")
    registry = load_registry(path)
    now, result = _night(pipeline_env, sandbox, 0, registry)
    assert result.status == "committed"
    assert sorted(_rows(pipeline_env, "select platform, ref from raw.peer_snapshots")) == [
        ("facebook", "300000000000011"), ("instagram", "grannbykommun"), ("youtube", "@grannby")]
    found = {f["ref"]: f for f in result.findings}
    assert set(found) == {"renamed_grannby", "private_grannbyskolan", "agegated_grannbybaren", "400000000000012",
                          "@renamed_grannby"}
    for username in ("renamed_grannby", "private_grannbyskolan", "agegated_grannbybaren"):
        assert "business discovery cannot find this username" in found[username]["message"]
        assert f"https://www.instagram.com/{username}/" in found[username]["message"]
    assert "no public Page with this id" in found["400000000000012"]["message"]
    assert "no channel found" in found["@renamed_grannby"]["message"]
    stored = _rows(pipeline_env, "select ref, peer_name, message from raw.peer_findings order by ref")
    assert len(stored) == 5 and all(name == "Grannby kommun" and "\n" not in msg for _, name, msg in stored)


def test_missing_page_public_metadata_feature_fails_facebook_peers_only(pipeline_env, sandbox, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "sandbox-nopagefeature-token")
    from ingestion.core.settings import load_settings

    settings = load_settings()
    _, result = _night(settings, sandbox, 0)
    fb = [f for f in result.findings if f["platform"] == "facebook"]
    assert len(fb) == 4 and len(result.findings) == 4
    assert all("'Page Public Metadata Access' feature" in f["message"] for f in fb)
    platforms = {p for (p,) in _rows(settings, "select distinct platform from raw.peer_snapshots")}
    assert platforms == {"instagram", "youtube"}


def test_a_rerun_of_the_same_night_loads_nothing_twice(pipeline_env, sandbox):
    _night(pipeline_env, sandbox, 0)
    _, again = _night(pipeline_env, sandbox, 0)
    assert again.status == "already_loaded"
    assert _rows(pipeline_env, "select count(*) from raw.peer_loads") == [(1,)]


def test_the_gate_refuses_impossible_rows(pipeline_env):
    """The GX gate itself (real GX): a negative count or an unregistered account fails it."""
    day = (SANDBOX_NOW - timedelta(hours=8)).date() - timedelta(days=1)
    rows = pd.DataFrame([
        {"response_id": "r1", "peer_name": "P", "platform": "instagram", "ref": "a", "snapshot_date": day,
         "observed_at": SANDBOX_NOW, "followers": -1, "fan_count": None, "media_count": 3},
        {"response_id": "r2", "peer_name": "P", "platform": "instagram", "ref": "stranger", "snapshot_date": day,
         "observed_at": SANDBOX_NOW, "followers": 5, "fan_count": None, "media_count": 3},
    ])
    media = pd.DataFrame(columns=["media_id", "published_at", "ref", "like_count", "comments_count"])
    result = peers.gate(rows, media, expected=["instagram:a"], day=day, run_id="r", load_id="r/peers",
                        settings=pipeline_env)
    assert not result.success
    failed = {(f["expectation"], f.get("column")) for f in result.failures}
    assert ("expect_column_values_to_be_between", "followers") in failed
    assert ("expect_column_values_to_be_in_set", "key") in failed

