"""A publication sent by a real Celery worker on the embedded broker, through the ``publish`` queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from liveslice.standins.webhook import WebhookStandIn
from pipeline.publishing import dispatch
from runtime.broker import EmbeddedBroker, valkey_binary
from runtime.config import Settings
from services.publishing import create_publication
from store.db import session_scope
from tests.conftest import make_settings
from tests.support.publishing import make_clip, make_webhook_target, new_webhook_secret, publication
from workers.app import _celery_for
from workers.dispatch import enqueue_job


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], channel_rates={"webhook": "30/minute"})


def test_a_worker_sends_a_publication(settings: Settings, run_worker_process: Callable[..., object]) -> None:
    if valkey_binary()[0] is None:
        pytest.skip("no valkey-server for the embedded broker")
    _celery_for.cache_clear()
    broker = EmbeddedBroker(settings)
    broker.start()
    secret = new_webhook_secret()
    try:
        with WebhookStandIn(secret=secret) as standin:
            assert isinstance(standin, WebhookStandIn)
            run_worker_process(settings)
            target_id = make_webhook_target(settings, standin.url, secret)
            with session_scope(settings.database_url) as session:
                pub_id = create_publication(settings, session, clip_id=make_clip(settings), target_id=target_id).id
            assert dispatch(settings, [pub_id], enqueue_job)
            deadline = time.monotonic() + 60
            while publication(settings, pub_id).status != "sent" and time.monotonic() < deadline:
                time.sleep(0.2)
            row = publication(settings, pub_id)
            assert row.status == "sent", (row.status, row.last_error)
            assert len(standin.posts) == 1 and standin.posts[0]["id"] == row.idempotency_key
    finally:
        broker.stop()
        _celery_for.cache_clear()
