"""The exchange driver over real HTTP: once part of a post is visible, an error that would otherwise be
retried (a 5xx, a refused connection, the rate) ends the attempt as ``unknown`` instead, so the visible
part is never posted twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from distribution.channels.base import Delivered, Exchange, HttpRequest, Post, check_status
from distribution.channels.webhook import WebhookChannel
from distribution.errors import ChannelUnavailable
from liveslice.standins import Fault
from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from services.delivery_http import OutcomeUnknown, run_exchange
from services.delivery_post import Prepared
from tests.conftest import make_settings
from tests.support.channel_driver import make_post
from tests.support.publishing import new_webhook_secret


class TwoPartChannel(WebhookChannel):
    """A channel whose post is two visible messages (as WeCom's file, then its caption), with no
    partial-post handling of its own: the driver's rule is what is tested."""

    def exchange(self, post: Post) -> Exchange:
        first = yield from _one(self, replace(post, idempotency_key=post.idempotency_key + "-1"))
        yield from _one(self, replace(post, idempotency_key=post.idempotency_key + "-2"))
        return first


def _one(channel: WebhookChannel, post: Post) -> Iterator[HttpRequest]:
    request = next(WebhookChannel.exchange(channel, post))
    response = yield request
    check_status(response, "two-part")
    return Delivered(external_id=post.idempotency_key)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="memory://")


def _prepared(url: str, secret: str) -> Prepared:
    adapter = TwoPartChannel({"url": url, "secret": secret})
    return Prepared(make_post(), adapter, "webhook", "two-part-account", [secret])


def test_a_5xx_on_the_second_part_is_unknown_not_retried(settings: Settings) -> None:
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret) as hook:
        hook.faults.extend([Fault("none"), Fault(Fault.ERROR, status=502)])
        with pytest.raises(OutcomeUnknown, match="part of the post went out"):
            run_exchange(settings, _prepared(hook.url, secret))
        assert len(hook.posts) == 1


def test_a_5xx_on_the_first_part_is_retryable(settings: Settings) -> None:
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret) as hook:
        hook.fail_next(Fault.ERROR, status=502)
        with pytest.raises(ChannelUnavailable):
            run_exchange(settings, _prepared(hook.url, secret))
        assert hook.posts == []
        assert run_exchange(settings, _prepared(hook.url, secret)).external_id == "idem-1-1"
        assert len(hook.posts) == 2
