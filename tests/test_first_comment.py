"""first_comment: a comment right after the post on Instagram, Facebook (Graph API
stand-ins) and LinkedIn (Comments API stand-in), each exactly once; a comment refused for
good leaves the post published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.platforms import THREAD_SEPARATOR
from scheduler.timeutil import get_zone
from tests.fakes import FakeFacebookPage, FakeGraphContainers, FakeLinkedIn
from tests.project import Project
from tests.test_adapter_facebook import TOKEN as FB_TOKEN
from tests.test_adapter_facebook import facebook
from tests.test_adapter_instagram import TOKEN as IG_TOKEN
from tests.test_adapter_instagram import instagram
from tests.test_adapter_linkedin import TOKEN as LI_TOKEN
from tests.test_adapter_linkedin import linkedin

LONDON = get_zone("Europe/London")
CAPTION = "We're hiring intelligence officers."
COMMENT = "Apply: https://www.example.gov.uk/careers #SecurityCareers"


def saving(adapter: Any) -> dict[str, Any]:
    saved: dict[str, Any] = {}
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    return saved


def test_facebook_post_then_its_first_comment(local_server, tmp_path, make_post):
    fake = FakeFacebookPage(local_server, FB_TOKEN)
    adapter = facebook(local_server, tmp_path, fake)
    saved = saving(adapter)
    post = make_post(THREAD_SEPARATOR.join([CAPTION, COMMENT]))
    published = adapter.publish(post)
    (page_post,) = fake.posts
    assert (published.remote_id, page_post["message"]) == (page_post["id"], CAPTION)
    assert [c["message"] for c in page_post["comments"]] == [COMMENT]
    assert [p["id"] for p in saved["state"]["thread"]] == [
        page_post["id"], page_post["comments"][0]["id"]]
    # The next attempt of the same delivery (a retry after a lost answer) sends nothing.
    again = facebook(local_server, tmp_path / "next", fake)
    asked = len(local_server.requests)
    assert again.publish(make_post(post.caption, delivery_id=post.delivery_id,
                                   remote_state=saved["state"])) == published
    assert [r.method for r in local_server.requests[asked:]] == []
    assert len(fake.posts) == 1 and len(page_post["comments"]) == 1


def test_a_comment_whose_answer_was_lost_is_found_not_sent_again(local_server, tmp_path,
                                                                 make_post):
    fake = FakeFacebookPage(local_server, FB_TOKEN)
    adapter = facebook(local_server, tmp_path, fake)
    saved = saving(adapter)
    post = make_post(THREAD_SEPARATOR.join([CAPTION, COMMENT]))
    adapter.publish(post)
    state = dict(saved["state"])
    # As if the comment's answer never came: the post is on record, the comment only sent.
    state["thread"] = state["thread"][:1]
    state["part2"] = {"create_sent_at": "2026-12-01T09:00:00+00:00"}
    resumed = facebook(local_server, tmp_path / "next", fake)
    resumed.publish(make_post(post.caption, delivery_id=post.delivery_id, remote_state=state))
    assert len(fake.posts[0]["comments"]) == 1


def test_instagram_comment_refused_for_good_leaves_the_post_published(local_server, tmp_path,
                                                                      make_post, make_image):
    fake = FakeGraphContainers(local_server, IG_TOKEN, tmp_path / "www")
    fake.comments_refused = "Comments are turned off for this media"
    adapter = instagram(local_server, tmp_path, fake)
    saved = saving(adapter)
    published = adapter.publish(make_post(THREAD_SEPARATOR.join([CAPTION, COMMENT]),
                                          (make_image(alt="Desk."),)))
    (media,) = fake.posts
    assert (published.remote_id, media["caption"]) == (media["id"], CAPTION)
    assert "Comments are turned off" in saved["state"]["comment_error"]
    fake.comments_refused = None
    adapter.publish(make_post(THREAD_SEPARATOR.join(["Second post.", COMMENT]),
                              (make_image(alt="Desk."),)))
    assert [c["text"] for c in fake.posts[1]["comments"]] == [COMMENT]


def test_linkedin_post_then_its_first_comment(local_server, make_post):
    fake = FakeLinkedIn(local_server, LI_TOKEN)
    adapter = linkedin(local_server)
    saved = saving(adapter)
    post = make_post(THREAD_SEPARATOR.join([CAPTION, COMMENT]))
    published = adapter.publish(post)
    (share,) = fake.posts
    assert published.remote_id == share["id"]
    (comment,) = share["comments"]
    assert (comment["actor"], comment["object"], comment["message"]["text"]) == (
        "urn:li:organization:2414183", share["id"], COMMENT)
    assert saved["state"]["thread"][1]["id"] == comment["commentUrn"]
    # Lost answer to the comment: the retry finds it among the post's comments.
    state = {**saved["state"], "thread": saved["state"]["thread"][:1],
             "part2": {"create_sent_at": "2026-12-01T09:00:00+00:00"}}
    linkedin(local_server).publish(make_post(post.caption, delivery_id=post.delivery_id,
                                             remote_state=state))
    assert len(share["comments"]) == 1


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def test_first_comment_is_composed_for_comment_platforms_only(project: Project) -> None:
    replace = {"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12),
               "[outbox]": "[instagram, x]",
               "hashtags: [careers]": f'hashtags: [careers]\nfirst_comment: "{COMMENT}"'}
    project.careers(**replace)
    assert project.run("queue", "add", "posts/io.md").exit_code == 0
    shown = project.run("queue", "show", "io").stdout
    assert f"    {THREAD_SEPARATOR.strip()}\n    {COMMENT}" in shown  # instagram
    assert shown.count(COMMENT) == 1
    project.careers(**{**replace, "[outbox]": "[x]"})
    result = project.run("validate")
    assert result.exit_code == 1
    assert ("posts/io.md:13: first_comment: none of this post's channels takes a first "
            "comment; Instagram, Facebook and LinkedIn do") in result.stderr.splitlines()


def test_dry_run_plans_the_post_then_its_comment(local_server, tmp_path, make_post):
    fake = FakeFacebookPage(local_server, FB_TOKEN)
    planned = facebook(local_server, tmp_path, fake).plan_parts(
        make_post(THREAD_SEPARATOR.join([CAPTION, COMMENT])))
    assert [(p.method, p.url.removeprefix(local_server.base_url)) for p in planned] == [
        ("POST", f"/{fake.page}/feed"), ("POST", "/<id of part 1>/comments")]
    assert planned[1].body == {"message": COMMENT}
    assert local_server.requests == []
