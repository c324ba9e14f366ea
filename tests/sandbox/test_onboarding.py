"""Onboarding: /debug_token conventions, the long-lived token exchange, /me/accounts page tokens."""

from __future__ import annotations

from tests.sandbox.conftest import NOW, PAGE, TOKEN, assert_graph_error

ALL = {"pages_show_list", "pages_read_engagement", "read_insights", "instagram_basic", "instagram_manage_insights",
       "business_management"}


def debug(graph, token):
    resp = graph("debug_token", input_token=token)
    assert resp.status_code == 200, resp.text
    assert token not in resp.text
    return resp.json()["data"]


def test_debug_token_conventions(graph):
    now = int(NOW.timestamp())
    system = debug(graph, "sys-token-123")
    assert system["type"] == "SYSTEM_USER" and system["is_valid"] is True and system["expires_at"] == 0
    assert set(system["scopes"]) == ALL and {g["scope"] for g in system["granular_scopes"]} == ALL
    assert {"app_id", "data_access_expires_at", "expires_at", "is_valid", "scopes", "granular_scopes"} <= set(system)
    short = debug(graph, "shortlived-abc")
    assert short["type"] == "USER" and short["expires_at"] == now + 3600
    lacking = debug(graph, "noscope-read_insights-xyz")
    assert set(lacking["scopes"]) == ALL - {"read_insights"}
    expired = debug(graph, "expired-abc")
    assert expired["is_valid"] is False and expired["expires_at"] < now
    assert (expired["error"]["code"], expired["error"]["subcode"]) == (190, 463)
    assert_graph_error(graph("debug_token"), 100)


def test_a_token_without_a_scope_is_refused_where_it_is_needed(graph):
    token = "noscope-read_insights-abc"
    assert graph(PAGE, token=token).status_code == 200  # node: pages_read_engagement is there
    err = assert_graph_error(graph(f"{PAGE}/insights", token=token, metric="page_follows"), 10)
    assert "read_insights" in err["message"]
    assert_graph_error(graph("me/accounts", token="noscope-pages_show_list"), 10)


def test_long_lived_token_exchange(graph):
    params = {"grant_type": "fb_exchange_token", "client_id": "1122", "client_secret": "s3cret",
              "fb_exchange_token": "shortlived-user-token"}
    resp = graph("oauth/access_token", token=None, **params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["access_token"].startswith("longlived-") and "shortlived-user-token" not in body["access_token"]
    assert body["token_type"] == "bearer" and 55 * 86400 < body["expires_in"] <= 60 * 86400
    info = debug(graph, body["access_token"])
    assert info["type"] == "USER" and info["expires_at"] == int(NOW.timestamp()) + 60 * 86400
    assert_graph_error(graph("oauth/access_token", token=None, **{**params, "client_id": ""}), 101)
    assert_graph_error(graph("oauth/access_token", token=None, **{**params, "fb_exchange_token": "expired-x"}), 190,
                       subcode=463)


def test_me_accounts_page_tokens_never_equal_the_callers(graph):
    rows = graph("me/accounts", fields="id,name,access_token,instagram_business_account", limit=5).json()["data"]
    tokens = [r["access_token"] for r in rows]
    assert len(set(tokens)) == 5 and all(TOKEN not in t for t in tokens)
    assert all(r["instagram_business_account"]["id"] for r in rows)
    page_info = debug(graph, tokens[0])
    assert page_info["type"] == "PAGE" and page_info["expires_at"] == 0 and page_info["profile_id"] == rows[0]["id"]
    # A page token works for its page's insights.
    assert graph(f"{rows[0]['id']}/insights", token=tokens[0], metric="page_follows").status_code == 200
