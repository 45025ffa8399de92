"""A driver object for the group-robot adapter tests: runs exchanges through :func:`channel_driver.send`
and keeps what it sent. No rate limiting, retries or bookkeeping (that is ``services.publishing``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from distribution.channels.base import ChannelAdapter, Delivered, HttpRequest, HttpResponse, MediaFile, Post
from tests.support import channel_driver


@dataclass
class Driver:
    """Runs exchanges; :attr:`sent` keeps every request sent, in order."""

    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    sent: list[HttpRequest] = field(default_factory=list)
    #: Overrides every request's own timeout (a stalled stand-in in a test).
    timeout: float | None = None

    def run(self, adapter: ChannelAdapter, post: Post) -> Delivered:
        exchange = adapter.exchange(post)
        try:
            request = next(exchange)
            while True:
                request = exchange.send(self.send(request))
        except StopIteration as done:
            delivered: Delivered = done.value
            return delivered

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return channel_driver.send(self.client, request, timeout=self.timeout)

    def close(self) -> None:
        self.client.close()


def driver() -> Iterator[Driver]:
    """Body of a pytest fixture: a driver closed after the test."""
    made = Driver()
    try:
        yield made
    finally:
        made.close()


def media(name: str, *, size: int = 1000, path: Path | None = None, content_type: str = "image/jpeg") -> MediaFile:
    """A media file as a post carries it: a (fake, signed-looking) public URL, and a path if given."""
    if path is not None:
        size = path.stat().st_size
    return MediaFile(
        url=f"https://media.example.com/m/{name}?sig=abc",
        name=name,
        size=size,
        content_type=content_type,
        path=path,
        key=f"clips/{name}",
    )


def make_post(**overrides: Any) -> Post:
    """A post with a Chinese caption, a cover and a poster, and no video unless given."""
    values: dict[str, Any] = {
        "publication_id": "pub-1",
        "idempotency_key": "idem-1",
        "clip_id": "clip-1",
        "title": "限时秒杀：有机草莓",
        "caption": "新鲜到货，今晚直播间专享价 39.9 元！\n👉 https://shop.example.com/s/abc123",
        "hashtags": ("#草莓", "#直播"),
        "share_url": "https://shop.example.com/s/abc123",
        "cover": media("cover.jpg"),
        "poster": media("poster.png", content_type="image/png"),
        "leader_id": "leader-1",
        "leader_name": "王姐",
    }
    values.update(overrides)
    return Post(**values)
