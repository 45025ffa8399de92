"""Fixtures for the publishing engine: settings that allow the local stand-ins, a webhook stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from tests.conftest import make_settings
from tests.support.publishing import new_webhook_secret


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="memory://")


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
def standin(secret: str) -> Iterator[WebhookStandIn]:
    with WebhookStandIn(secret=secret) as server:
        assert isinstance(server, WebhookStandIn)
        yield server
