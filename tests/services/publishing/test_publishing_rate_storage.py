"""Rates counted per process are named in a warning when the broker is not Redis, and the publish queue
then gets a worker process of its own with concurrency 1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from liveslice.serve import ALL_QUEUES, worker_plan
from services import rate_limits
from services.rate_limits import MEMORY, storage_url
from tests.conftest import make_settings


def test_a_rabbitmq_broker_without_rate_storage_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path, broker_url="amqp://guest:guest@127.0.0.1:5672//", rate_limit_storage="")
    rate_limits._warned.discard("amqp")
    with caplog.at_level(logging.WARNING, logger="services.rate_limits"):
        assert storage_url(settings) == MEMORY
        assert storage_url(settings) == MEMORY
    warnings = [r for r in caplog.records if "LIVESLICE_RATE_LIMIT_STORAGE" in r.getMessage()]
    assert len(warnings) == 1
    plan = worker_plan(settings, ALL_QUEUES, 2)
    assert plan == [(("analysis", "render"), 2), (("publish",), 1)]
    shared = make_settings(
        tmp_path, broker_url="amqp://guest:guest@127.0.0.1:5672//", rate_limit_storage="redis://x:1/0"
    )
    assert worker_plan(shared, ALL_QUEUES, 2) == [(ALL_QUEUES, 2)]
    assert worker_plan(settings, ("publish",), 3) == [(("publish",), 1)]


def test_the_embedded_valkey_holds_the_counts(tmp_path: Path) -> None:
    """``liveslice serve``'s broker is Valkey on a unix socket (kombu's ``redis+socket://``): the rates are
    counted there, shared by every worker process, and the publish queue needs no worker of its own."""
    from runtime.broker import EmbeddedBroker

    settings = make_settings(
        tmp_path, broker_url="embedded", rate_limit_storage="", channel_rates={"webhook": "2/minute"}
    )
    with EmbeddedBroker(settings):
        url = storage_url(settings)
        assert url.startswith("redis+unix://") and url.endswith(".sock")
        assert worker_plan(settings, ALL_QUEUES, 2) == [(ALL_QUEUES, 2)]
        decisions = [rate_limits.acquire(settings, "webhook", "robot-1").allowed for _ in range(3)]
        assert decisions == [True, True, False]  # the third is over 2/minute, counted in Valkey
