"""Fixtures for observability tests: captured JSON logs, metrics scraping, loopback TestClient."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from runtime.logs import configure_logging

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Install the JSON handler on a buffer; yields a reader that parses every line logged so far."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(settings, json=True, stream=buffer)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    try:
        yield read
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def scrape(settings: Settings, **headers: str) -> str:
    """GET /metrics from a loopback client; asserts 200 and returns the body."""
    with TestClient(create_app(settings), client=LOOPBACK) as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or ``None`` if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None
