"""The scope table covers every call the platform modules make."""

from __future__ import annotations

from datetime import date

import pytest

from ingestion.extract.plan import AccountPlan
from ingestion.onboarding.scopes import SCOPE_NEEDS, missing_scopes
from ingestion.sources import FetchContext, facebook, instagram, youtube

AS_OF = date(2026, 11, 19)


@pytest.mark.parametrize(("module", "account_id", "content"), [
    (facebook, "100000000000001", {"data": [{"id": "100000000000001_5"}]}),
    (instagram, "17841400000000001", {"data": [{"id": "1790000001", "media_product_type": "FEED",
                                                 "media_type": "IMAGE", "timestamp": "2026-11-18T10:00:00+0000"}]}),
    (youtube, "UCfffWDGoC7em7aMPZt9-u7A", {}),
])
def test_every_endpoint_has_a_scope_row(module, account_id, content):
    ctx = FetchContext(as_of=AS_OF)
    specs = module.requests_for(AccountPlan(module.PLATFORM, account_id, None, date(2026, 11, 1), AS_OF), ctx)
    for spec in list(specs):
        specs += module.follow_ups(spec, content, ctx)
    endpoints = {s.endpoint for s in specs}
    table = {n.endpoint for n in SCOPE_NEEDS if n.platform == module.PLATFORM}
    assert endpoints <= table, endpoints - table
    assert len(endpoints) >= 3


def test_missing_scopes_lists_the_calls_that_fail():
    missing = missing_scopes({"pages_read_engagement", "instagram_basic"}, {"facebook", "instagram"})
    assert set(missing) == {"read_insights", "instagram_manage_insights"}
    assert any("facebook insights" in call for call in missing["read_insights"])
