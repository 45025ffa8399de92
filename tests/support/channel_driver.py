"""Drive a channel adapter's sans-I/O exchange over real HTTP (httpx), as a small stand-in for the
publishing service: send each yielded request, hand back the response, return what was delivered."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from distribution.channels.base import ChannelAdapter, Delivered, HttpRequest, HttpResponse, MediaFile, Post
from distribution.errors import ChannelUnavailable


def send(client: httpx.Client, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
    """Send one request (files streamed from their paths); a refused connection is ChannelUnavailable.
    ``timeout`` overrides the request's own (a stalled stand-in in a test)."""
    with ExitStack() as stack:
        options: dict[str, Any] = {"headers": dict(request.headers), "timeout": timeout or request.timeout}
        if request.json is not None:
            options["json"] = request.json
        elif request.content is not None:
            options["content"] = request.content
        if request.files:
            options["files"] = [
                (
                    part.field,
                    (
                        part.filename,
                        stack.enter_context(part.path.open("rb")) if part.path is not None else (part.content or b""),
                        part.content_type,
                    ),
                )
                for part in request.files
            ]
        if request.form:
            options["data"] = dict(request.form)
        try:
            answer = client.request(request.method, request.url, **options)
        except httpx.ConnectError:
            raise ChannelUnavailable(f"{request.label}: could not connect", code="network") from None
    return HttpResponse(answer.status_code, dict(answer.headers), answer.content)


def drive(adapter: ChannelAdapter, post: Post, *, log: list[HttpRequest] | None = None) -> Delivered:
    """Run ``adapter.exchange(post)`` to the end; raises what the adapter raises. ``log`` collects the
    requests it yielded (so a test can see that none was made)."""
    exchange = adapter.exchange(post)
    with httpx.Client() as client:
        try:
            request = next(exchange)
            while True:
                if log is not None:
                    log.append(request)
                request = exchange.send(send(client, request))
        except StopIteration as done:
            delivered: Delivered = done.value
            return delivered


def media(path: Path, *, url: str = "", content_type: str = "video/mp4", size: int | None = None) -> MediaFile:
    """A stored file as a post carries it (``size`` may be given to stand for a bigger file)."""
    return MediaFile(
        url=url or f"https://media.example.test/{path.name}?sig=abc",
        name=path.name,
        size=path.stat().st_size if size is None else size,
        content_type=content_type,
        path=path,
        key=f"clips/{path.name}",
    )


def make_post(**overrides: Any) -> Post:
    """A post with sensible defaults: a caption, hashtags and a share link; no media unless given."""
    values: dict[str, Any] = {
        "publication_id": "pub-1",
        "idempotency_key": "idem-1",
        "clip_id": "clip-1",
        "title": "限时秒杀 Flash sale",
        "caption": "好物推荐 🔥 今晚直播同款\nhttps://s.example.test/s/abc123",
        "hashtags": ("好物推荐", "#直播"),
        "share_url": "https://s.example.test/s/abc123",
        "leader_id": "leader-1",
        "leader_name": "Ann",
    }
    values.update(overrides)
    return Post(**values)
