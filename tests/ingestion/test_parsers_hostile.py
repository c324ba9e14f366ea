"""Hostile input: parsers and the registry loader only ever raise classified errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.core.registry import RegistryError, load_registry
from ingestion.load.loader import parse_records

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Bodies that look like Graph/YouTube answers, with random holes and wrong types.
INSIGHTS = st.fixed_dictionaries({
    "data": st.lists(st.fixed_dictionaries({
        "name": st.one_of(st.sampled_from(["page_follows", "views", "follows_and_unfollows"]), JSON),
        "period": st.one_of(st.sampled_from(["day", "lifetime"]), JSON),
    }, optional={
        "values": st.lists(st.fixed_dictionaries({}, optional={
            "value": JSON, "end_time": st.one_of(st.just("2026-11-02T08:00:00+0000"), JSON)}), max_size=3),
        "total_value": JSON,
    }), max_size=3),
}) | JSON
ENDPOINTS = {
    "facebook": ["node", "insights", "posts", "post_insights", "demographics"],
    "instagram": ["node", "insights", "media", "media_insights", "demographics"],
    "youtube": ["node", "analytics", "demographics"],
}


@st.composite
def records(draw):
    platform = draw(st.sampled_from(sorted(ENDPOINTS)))
    return platform, {
        "response_id": "r1", "platform": platform, "account_id": "100000000000001",
        "endpoint": draw(st.sampled_from(ENDPOINTS[platform])), "object_type": "account",
        "object_id": "100000000000001",
        "params": draw(st.fixed_dictionaries({}, optional={"since": st.just(1794034800), "endDate": JSON})),
        "fetched_at": datetime(2026, 11, 20, 17, tzinfo=UTC).isoformat(),
        "body": draw(INSIGHTS),
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_body_parses_or_cuts_out_only_its_account(item):
    platform, record = item
    observations, objects, broken = parse_records(platform, [record])
    # Either the account parsed (and every value is a finite-typed number) or it is reported broken.
    if broken:
        assert set(broken) == {"100000000000001"} and observations == [] and objects == []
    for row in observations:
        assert isinstance(row["value"], int | float) and not isinstance(row["value"], bool)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), JSON, max_size=5) | JSON)
def test_any_yaml_registry_is_accepted_or_rejected_with_a_registry_error(tmp_path_factory, data):
    path = Path(tmp_path_factory.mktemp("reg")) / "accounts.yml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    try:
        load_registry(path)
    except RegistryError as exc:
        assert str(exc)


def test_unicode_and_huge_numbers_survive():
    record = {
        "response_id": "r1", "platform": "facebook", "account_id": "100000000000001", "endpoint": "insights",
        "object_type": "account", "object_id": "100000000000001", "params": {},
        "fetched_at": datetime(2026, 11, 20, 17, tzinfo=UTC).isoformat(),
        "body": {"data": [{"name": "page_follows_city", "period": "lifetime",
                           "values": [{"value": {"Göteborg, Västra Götaland 🇸🇪": 10**15}}]}]},
    }
    observations, _, broken = parse_records("facebook", [record])
    assert broken == {}
    assert observations[0]["dimension_value"] == "Göteborg, Västra Götaland 🇸🇪"
    assert observations[0]["value"] == 10**15
