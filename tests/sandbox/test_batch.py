"""Batch requests (PLATFORM_APIS §4.3): POST /vNN.0/ with up to 50 sub-requests."""

from __future__ import annotations

import json

from sandbox import data as D
from sandbox.truth import ground_truth
from tests.sandbox.conftest import IG, PAGE, TOKEN, YESTERDAY, start


def post_batch(http, srv, ops, **form):
    form.setdefault("access_token", TOKEN)
    return http.post(f"{srv.graph_url}/v25.0/", data={"batch": json.dumps(ops), **form}, timeout=10)


def test_batch_answers_each_sub_request_with_code_headers_and_json_string_body(server, http):
    ops = [
        {"method": "GET", "relative_url": f"{PAGE}?fields=id,followers_count"},
        {"method": "GET", "relative_url": f"{PAGE}/insights?metric=page_fans&period=day"},  # retired: fails alone
        {"method": "GET", "relative_url": f"/v25.0/{IG}?fields=id,followers_count&access_token=expired-abc"},
        {"method": "GET", "relative_url": "123/insights?metric=page_follows"},
    ]
    resp = post_batch(http, server, ops)
    assert resp.status_code == 200, resp.text
    results = resp.json()
    assert [r["code"] for r in results] == [200, 400, 400, 400]
    for r in results:
        assert isinstance(r["body"], str)  # body must be json-decoded again
        names = {h["name"] for h in r["headers"]}
        assert {"Content-Type", "X-Business-Use-Case-Usage"} <= names or r is results[3]
    node = json.loads(results[0]["body"])
    truth = [t for t in ground_truth(server.config, YESTERDAY, YESTERDAY) if t["account_id"] == PAGE][0]
    assert node == {"id": PAGE, "followers_count": truth["followers"]}
    assert json.loads(results[1]["body"])["error"]["message"] == "(#100) The value must be a valid insights metric"
    # The relative_url's own token wins over the top-level one.
    assert json.loads(results[2]["body"])["error"]["error_subcode"] == 463
    assert json.loads(results[3]["body"])["error"]["error_subcode"] == 33
    # Bearer header instead of the form field works too; include_headers=false drops headers.
    bare = http.post(
        f"{server.graph_url}/v25.0/",
        data={"batch": json.dumps(ops[:1]), "include_headers": "false"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    ).json()
    assert bare == [{"code": 200, "body": results[0]["body"]}]
    assert TOKEN not in resp.text


def test_batch_of_more_than_50_is_rejected_whole(server, http):
    ops = [{"method": "GET", "relative_url": f"{D.facebook_page_id(i % 5 + 1)}"} for i in range(51)]
    resp = post_batch(http, server, ops)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert (err["message"], err["type"], err["code"]) == ("(#1) Maximum batch size is 50", "GraphBatchException", 1)
    assert err["fbtrace_id"]
    ok = post_batch(http, server, ops[:50])
    assert ok.status_code == 200 and len(ok.json()) == 50 and {r["code"] for r in ok.json()} == {200}
    missing = http.post(f"{server.graph_url}/v25.0/", data={"access_token": TOKEN}, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 100


def test_each_batch_sub_request_counts_for_rate_limits():
    srv = start(call_budget_per_hour=6)
    try:
        import requests

        with requests.Session() as http:
            page = D.facebook_page_id(4)
            ops = [{"method": "GET", "relative_url": f"{page}?fields=id"} for _ in range(8)]
            results = post_batch(http, srv, ops).json()
            codes = [r["code"] for r in results]
            assert codes == [200] * 6 + [400, 400]  # the 7th call of the hour is over budget
            err = json.loads(results[6]["body"])["error"]
            assert err["code"] == 80001
            usage = {h["name"]: h["value"] for h in results[6]["headers"]}
            entry = json.loads(usage["X-Business-Use-Case-Usage"])[page][0]
            assert entry["type"] == "pages" and entry["estimated_time_to_regain_access"] >= 1
            counts = [json.loads({h["name"]: h["value"] for h in r["headers"]}["X-Business-Use-Case-Usage"])
                      [page][0]["call_count"] for r in results[:6]]
            assert counts == sorted(counts) and counts[-1] == 100  # 6 of 6 = 100 %
    finally:
        srv.stop()
