"""The sandbox's peer surface over real HTTP: what a nightly snapshot sees equals the ground truth,
night after night, and each documented failure answers like the platform."""

from __future__ import annotations

from datetime import timedelta

import requests

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.peers import channel_id_for, peer_truth
from sandbox.youtube import round_subscribers
from tests.conftest import SANDBOX_NOW, TEST_TOKEN

BD = ("business_discovery.username({}){{followers_count,media_count,"
      "media.limit(5){{like_count,comments_count,timestamp,media_product_type}}}}")


def _ig(sandbox, username, token=TEST_TOKEN):
    return requests.get(f"{sandbox.graph_url}/v25.0/{D.instagram_user_id(1)}",
                        params={"fields": BD.format(username), "access_token": token}, timeout=10)


def _page(sandbox, page_id, token=TEST_TOKEN):
    return requests.get(f"{sandbox.graph_url}/v25.0/{page_id}",
                        params={"fields": "id,name,link,followers_count,fan_count", "access_token": token}, timeout=10)


def _channels(sandbox, **params):
    return requests.get(f"{sandbox.youtube_data_url}/channels", params={"part": "statistics,snippet", **params},
                        headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=10)


def test_three_nights_of_public_counts_equal_the_truth(sandbox):
    for night in range(3):
        now = SANDBOX_NOW + timedelta(days=night)
        sandbox.set_now(now)
        truth = peer_truth(42, "instagram", "vasterbykommun", now, media_limit=5)
        body = _ig(sandbox, "vasterbykommun").json()["business_discovery"]
        assert body["followers_count"] == truth["followers"]
        assert body["media_count"] == truth["media_count"]
        assert [(m["like_count"], m["comments_count"], m["timestamp"]) for m in body["media"]["data"]] == [
            (m["like_count"], m["comments_count"], m["timestamp"]) for m in truth["media"]]

        page = _page(sandbox, "300000000000001").json()
        truth = peer_truth(42, "facebook", "300000000000001", now)
        assert (page["followers_count"], page["fan_count"]) == (truth["followers"], truth["fan_count"])

        item = _channels(sandbox, forHandle="@norrsalakommun").json()["items"][0]
        truth = peer_truth(42, "youtube", "@norrsalakommun", now)
        assert item["id"] == truth["channel_id"]
        assert item["statistics"]["subscriberCount"] == str(truth["subscriber_count"])
        assert truth["subscriber_count"] == round_subscribers(truth["followers"])  # public = rounded
    # the counts move from night to night (trend plus wobble), so a stale snapshot would be caught
    nights = [peer_truth(42, "facebook", "300000000000001", SANDBOX_NOW + timedelta(days=n))["followers"]
              for n in range(3)]
    assert len(set(nights)) > 1


def test_truth_endpoint_matches_the_function(sandbox):
    rows = requests.get(f"{sandbox.base_url}/__truth/peers",
                        params={"refs": "instagram:abykommun,facebook:300000000000004"}, timeout=10).json()
    assert rows[0]["followers"] == peer_truth(42, "instagram", "abykommun", SANDBOX_NOW)["followers"]
    assert rows[1]["snapshot_date"] == (PT.pacific_date(SANDBOX_NOW) - timedelta(days=1)).isoformat()


def test_renamed_private_and_age_gated_usernames_are_not_found(sandbox):
    for username in ("renamed_vasterbykommun", "private_someone", "agegated_bar"):
        resp = _ig(sandbox, username)
        assert resp.status_code == 400
        error = resp.json()["error"]
        assert (error["code"], error["error_subcode"]) == (110, 2207013)
        assert username in error["message"]


def test_page_without_the_public_metadata_feature_is_refused(sandbox):
    error = _page(sandbox, "300000000000001", token="sandbox-nopagefeature-token").json()["error"]
    assert error["code"] == 10 and "Page Public Metadata Access" in error["message"]


def test_a_page_that_is_not_public_is_an_unknown_object(sandbox):
    error = _page(sandbox, "400000000000001").json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


def test_hidden_subscriber_count_and_unknown_handle(sandbox):
    hidden = next(h for h in (f"@peer{i}" for i in range(100))
                  if peer_truth(42, "youtube", h, SANDBOX_NOW)["hidden"])
    stats = _channels(sandbox, id=channel_id_for(42, hidden)).json()["items"][0]["statistics"]
    assert stats["hiddenSubscriberCount"] is True and "subscriberCount" not in stats
    assert _channels(sandbox, forHandle="@renamed_kanal").json()["items"] == []


def test_own_accounts_keep_their_paths(sandbox):
    """The peer hook must not capture own-account calls (own IG node, own channels by handle)."""
    own = requests.get(f"{sandbox.graph_url}/v25.0/{D.instagram_user_id(1)}",
                       params={"fields": "followers_count", "access_token": TEST_TOKEN}, timeout=10).json()
    assert own["followers_count"] == D.followers_at(42, "instagram", D.instagram_user_id(1),
                                                    PT.pacific_date(SANDBOX_NOW) - timedelta(days=1))
    handle = "@" + D.account_identity(42, 1)["username"]
    assert _channels(sandbox, forHandle=handle).json()["items"][0]["id"] == D.youtube_channel_id(1)
