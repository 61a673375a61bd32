"""Retraction against the reference peers: a real Bluesky PDS (the record is gone from
``listRecords``) and Prism checking the Mastodon delete call against the API description.

Run under the peers' lock (see tests/peers.py): they use fixed ports.
"""

from __future__ import annotations

from scheduler.adapters.base import PublishedPost
from scheduler.adapters.bluesky import record_key
from tests.test_adapter_bluesky import bluesky, list_rkeys
from tests.test_adapter_mastodon import ContractWatch, mastodon


def _published(post, done) -> PublishedPost:
    return PublishedPost(delivery_id=post.delivery_id, post_id=post.post_id,
                         channel=post.channel, remote_id=done.remote_id, url=done.url,
                         reason="wrong closing date")


def test_bluesky_record_is_gone_from_list_records(bsky_peer, tmp_path, make_post, make_image):
    post = make_post("A post to take down again #careers", (make_image(alt="A desk."),))
    adapter = bluesky(bsky_peer, tmp_path)
    published = _published(post, adapter.publish(post))
    rkey = record_key(post.delivery_id)
    assert rkey in list_rkeys(bsky_peer)
    adapter.retract(published)
    assert rkey not in list_rkeys(bsky_peer)
    assert adapter.is_gone(published) is True
    # Deleting again (a retry after a lost answer) is success, from a fresh session too.
    bluesky(bsky_peer, tmp_path / "fresh").retract(published)
    assert rkey not in list_rkeys(bsky_peer)


def test_mastodon_delete_conforms_to_the_api_description(mastodon_peer, make_post):
    adapter = mastodon(mastodon_peer.base_url)
    post = make_post("We're hiring https://www.example.gov.uk/careers #careers")
    published = _published(post, adapter.publish(post))
    watch = ContractWatch(adapter)
    adapter.retract(published)
    assert watch.violations == []
    assert watch.seen[0][:2] == ("DELETE", f"/api/v1/statuses/{published.remote_id}")
    assert watch.seen[0][2] == 200
