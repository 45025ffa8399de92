"""The publications page in a real headless Chromium: a row that is on its way updates by itself (no
reload) when the publication is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from liveslice.standins.webhook import WebhookStandIn
from services.publishing import create_publication
from store.db import session_scope
from tests.api.pages.conftest import sign_in
from tests.support.live_server import LiveServer
from tests.support.publishing import drain, make_clip, make_webhook_target, new_webhook_secret

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.mark.browser
def test_a_publication_on_its_way_turns_sent_on_the_page(
    page: Page, live_server: LiveServer, issue_key: Callable[[str], str]
) -> None:
    settings = live_server.settings.model_copy(
        update={"channel_hosts": ["127.0.0.1"], "rate_limit_storage": "memory://"}
    )
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret) as hook:
        clip_id = make_clip(settings, title="直播同款丝巾")
        target_id = make_webhook_target(settings, hook.url, secret)
        with session_scope(settings.database_url) as session:
            publication_id = create_publication(settings, session, clip_id=clip_id, target_id=target_id).id
        sign_in(page, live_server.url, issue_key("merchant"), next_page="/publications")
        row = page.locator(f'tr[data-publication="{publication_id}"]')
        assert row.get_attribute("data-status") == "pending"
        assert row.locator('[data-action="retry"]').is_hidden()
        assert drain(settings, [publication_id]) == {publication_id: "sent"}  # as a worker would, meanwhile
        page.wait_for_selector(f'tr[data-publication="{publication_id}"][data-status="sent"]', timeout=10_000)
        assert row.locator('[data-field="attempts"]').inner_text() == "1"
        assert len(hook.posts) == 1
