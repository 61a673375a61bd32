"""Local stand-ins for the platforms, one module per platform (see :mod:`.common`)."""

from tests.fakes.bluesky import FakeBlueskyPds
from tests.fakes.common import MODES, NOW, FakePlatform, form_of, json_of, split
from tests.fakes.facebook import FakeFacebookPage
from tests.fakes.linkedin import FakeLinkedIn, li_error
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.meta import FakeGraphContainers, meta_error, meta_failure
from tests.fakes.webhook import FakeWebhookReceiver
from tests.fakes.x import FakeX, problem

__all__ = [
    "MODES", "NOW", "FakeBlueskyPds", "FakeFacebookPage", "FakeGraphContainers",
    "FakeLinkedIn", "FakeMastodon", "FakePlatform", "FakeWebhookReceiver", "FakeX",
    "form_of", "json_of", "li_error", "meta_error", "meta_failure", "problem", "split",
]
