"""Issue 22 acceptance: the peer marts equal the sandbox truth over several simulated nights.

Real sandbox over HTTP, real ingestion (own accounts and peers), real dbt on a real DuckDB file.
Nights 0, 1 and 7 (the clock frozen, moved between nights; nights 2-6 are skipped on purpose):
only snapshot days have rows, the 7-day change exists only on night 7 and equals the truth's,
and the ranking among the organisations equals the ranking computed from the truth.
What is expected comes from the sandbox (`sandbox.peers.peer_truth`, `sandbox.data`), never
from the warehouse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from ingestion.core.registry import load_registry
from ingestion.load import peers
from ingestion.pipeline import chain as pipeline
from ingestion.publish import bi_copy as publish
from ingestion.publish import report
from ingestion.transform import runner as transform
from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.peers import peer_truth, snapshot_day
from sandbox.youtube import round_subscribers
from tests.conftest import sized_settings

pytestmark = pytest.mark.e2e

SEED = 42
FIRST_NIGHT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NIGHTS = (0, 1, 7)
FB, IG, YT = 2, 2, 2
SANDBOX = {"accounts": FB, "seed": SEED, "now": FIRST_NIGHT, "youtube_channels": YT}  # tests/conftest.py sandbox
PEERS = """peers:
  - name: Västerby kommun
    population: 61200
    group: similar size
    accounts:
      - {platform: instagram, username: vasterbykommun}
      - {platform: facebook, id: "300000000000001"}
      - {platform: youtube, handle: "@vasterbykommun"}
  - name: Norrsala kommun
    population: 128400
    group: county
    accounts:
      - {platform: instagram, username: norrsalakommun}
      - {platform: facebook, id: "300000000000002"}
      - {platform: facebook, id: "300000000000003"}
      - {platform: youtube, handle: "@norrsalakommun"}
  - name: Åby kommun
    accounts:
      - {platform: instagram, username: abykommun}
      - {platform: facebook, id: "300000000000004"}
"""


@pytest.fixture
def settings(pipeline_env, tmp_path, monkeypatch):
    return sized_settings(tmp_path, monkeypatch, {"facebook": FB, "instagram": IG, "youtube": YT}, seed=SEED,
                          extra=PEERS, SOCIALPULSE_LOOKBACK_DAYS="3")


def _truth_followers(platform: str, ref: str, now: datetime, own: bool) -> int | None:
    day = snapshot_day(now)
    if own:
        value = D.followers_at(SEED, platform, ref, day)
        return round_subscribers(value) if platform == "youtube" else value
    truth = peer_truth(SEED, platform, ref, now)
    return truth["subscriber_count"] if platform == "youtube" else truth["followers"]


def _expected_ranks(registry, now: datetime) -> dict[tuple[str, str], tuple[int, int]]:
    """(organisation, platform) -> (followers total, rank), from the truth, for every platform and
    'all'; an organisation with only hidden counts on a platform has no total and no rank."""
    totals: dict[tuple[str, str], int | None] = {}
    own_name = registry.organisation.name
    for account in registry.accounts:
        value = _truth_followers(account.platform, account.id, now, own=True)
        for platform in (account.platform, "all"):
            totals[(own_name, platform)] = totals.get((own_name, platform), 0) + value
    for ref in peers.peer_refs(registry):
        value = _truth_followers(ref.platform, ref.ref, now, own=False)  # None: hidden, left out
        for platform in (ref.platform, "all"):
            key = (ref.peer.name, platform)
            known = [v for v in (totals.get(key), value) if v is not None]
            totals[key] = sum(known) if known else None
    ranks = {}
    for (org, platform), total in totals.items():
        better = sum(1 for (o, p), t in totals.items() if p == platform and t is not None and t > (total or 0))
        ranks[(org, platform)] = (total, better + 1 if total is not None else None)
    return ranks


def test_peer_marts_equal_the_truth_over_several_nights(settings, sandbox):
    registry = load_registry(settings.accounts)
    refs = peers.peer_refs(registry)
    for night in NIGHTS:
        now = FIRST_NIGHT + timedelta(days=night)
        sandbox.set_now(now)
        ingested = pipeline.run_ingest(settings, now=now)
        assert not ingested.failed_accounts, ingested.failed_accounts
        result = peers.snapshot(settings, registry, run_id=f"night-{night}", now=now)
        assert result.status == "committed" and not result.findings
    build = transform.dbt(settings, "build", "--select", "+fct_peer_comparison_daily", log=lambda *_: None)
    assert build.returncode == 0, build.failed

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("""
            select is_own, platform, account_ref, snapshot_date, followers, followers_change_7d,
                   posts_28d, interactions_28d, followers_per_1000_residents
            from marts.fct_peer_account_daily""").fetchall()
        comparison = con.execute("""
            select organisation_name, platform, snapshot_date, followers, rank_followers, organisations_compared
            from marts.fct_peer_comparison_daily""").fetchall()
    finally:
        con.close()
    mart = {(own, p, ref, d): rest for own, p, ref, d, *rest in rows}
    days = {snapshot_day(FIRST_NIGHT + timedelta(days=n)) for n in NIGHTS}
    assert {d for *_, d in mart} == days  # nothing invented for the skipped nights or before the first
    assert len(mart) == len(days) * (len(refs) + len(registry.accounts))

    first = FIRST_NIGHT
    for night in NIGHTS:
        now = FIRST_NIGHT + timedelta(days=night)
        day = snapshot_day(now)
        for ref in refs:
            followers, change_7d, posts_28d, interactions, per_1000 = mart[(False, ref.platform, ref.ref, day)]
            expected = _truth_followers(ref.platform, ref.ref, now, own=False)
            assert followers == expected, (ref.ref, day)
            if night == 7 and expected is not None:
                assert change_7d == expected - _truth_followers(ref.platform, ref.ref, first, own=False)
            else:
                assert change_7d is None
            if ref.peer.population and expected is not None:
                assert per_1000 == pytest.approx(round(1000 * expected / ref.peer.population, 3))
            else:
                assert per_1000 is None
            if ref.platform == "instagram":
                media = peer_truth(SEED, "instagram", ref.ref, now, media_limit=peers.MEDIA_LIMIT)["media"]
                recent = [m for m in media if _pacific_day(m["timestamp"]) > day - timedelta(days=28)]
                assert posts_28d == len(recent)
                assert interactions == sum(m["like_count"] + m["comments_count"] for m in recent)
        for account in registry.accounts:
            got = mart[(True, account.platform, account.id, day)][0]
            assert got == _truth_followers(account.platform, account.id, now, own=True)
        expected_ranks = _expected_ranks(registry, now)
        got_ranks = {(org, p): (f, r) for org, p, d, f, r, _ in comparison if d == day}
        assert got_ranks == expected_ranks, day
        listed = {p: sum(1 for _, q in expected_ranks if q == p) for _, p in expected_ranks}  # youtube: 3
        assert {(p, n) for _, p, d, _, _, n in comparison if d == day} == set(listed.items())

    # users see it: the nightly report's "compared with peers" section shows the latest ranking
    publish.publish(settings, run_id="night-7")
    page = report.render(settings, lang="en").read_text(encoding="utf-8")
    section = page[page.index('<section id="peers">'):]
    section = section[:section.index("</section>")]
    assert "Compared with peers" in section
    for (org, platform), (_, rank) in expected_ranks.items():
        assert f'data-peer="{org}" data-platform="{platform}" data-rank="{rank or ""}"' in section, org
    assert section.count("data-own=1") == 4  # our row in every platform table (all, facebook, instagram, youtube)


def _pacific_day(timestamp: str) -> date:
    return PT.pacific_date(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S%z"))
