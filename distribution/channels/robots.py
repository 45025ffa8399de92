"""What the group-robot adapters (WeCom, Feishu, DingTalk) share: JSON bodies encoded once as UTF-8 (so
their size is what the service measures), captions checked in the channel's own unit before anything is
sent, and the error a second message gets when the first one is already visible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from distribution.channels.base import CaptionLimit, check_url
from distribution.errors import ChannelRejected, DeliveryError, InvalidChannelConfig

#: Headers of a JSON body sent as bytes (``HttpRequest.content``).
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def json_body(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON: Chinese stays 3 bytes a character (not a 6-byte ``\\uXXXX``)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def check_caption(channel: str, limit: CaptionLimit, caption: str) -> None:
    """Refuse, before sending, a caption over the channel's limit counted in its unit."""
    size = limit.measure(caption)
    if size > limit.limit:
        raise ChannelRejected(
            f"{channel}: the caption is {size} {limit.unit}, over the channel's limit of {limit.limit} {limit.unit}",
            code="caption_too_long",
        )


def check_body(channel: str, body: bytes, limit: int) -> None:
    """Refuse, before sending, a request body the service would refuse for its size."""
    if len(body) > limit:
        raise ChannelRejected(
            f"{channel}: the message is {len(body)} bytes, over the service's limit of {limit} bytes "
            "(shorten the caption or title)",
            code="body_too_large",
        )


def cut_bytes(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary, ending in ``ellipsis`` if cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(ellipsis.encode("utf-8"))
    return text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore") + ellipsis


def query_value(url: str, name: str) -> str:
    """The last value of the query parameter ``name`` in ``url`` ("" if absent)."""
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get(name)
    return values[-1].strip() if values else ""


def check_robot_url(
    channel: str, url: str, *, hosts: Sequence[str], extra_hosts: Sequence[str], path: str, param: str
) -> str:
    """A group robot's webhook address: on its service's host (or an extra one), at ``path``, with ``param``
    (the robot's key or token) in the query."""
    url = check_url(channel, "webhook_url", url, hosts=hosts, extra_hosts=extra_hosts)
    if urlsplit(url).path != path:
        raise InvalidChannelConfig(
            f"{channel}: config.webhook_url must be the robot's address ending in {path}?{param}=…"
        )
    if not query_value(url, param):
        raise InvalidChannelConfig(f"{channel}: config.webhook_url has no {param} (…{path}?{param}=…)")
    return url


def partial_post(channel: str, sent: str, failed: str, error: DeliveryError) -> ChannelRejected:
    """The error for a second message that failed after the first was posted.

    It is a :class:`ChannelRejected` (never retried automatically) even when the cause was a 5xx or a rate
    limit: trying the whole exchange again would post ``sent`` a second time. A person checks the group.
    """
    return ChannelRejected(
        f"{channel}: {sent} was posted but {failed} was not ({error}); sending again would repeat {sent}, "
        "so check the group and resend by hand",
        code="partial_post",
    )
