"""Stand-in for a Slack incoming webhook: ``POST /services/T…/B…/<secret>`` with a JSON message.

Checks the JSON (400 ``invalid_payload``), that there is ``text`` or ``blocks`` (400 ``no_text``), the Block
Kit shapes and lengths the adapter uses (400 ``invalid_blocks``: section text ≤3000, header ≤150 plain
text, image ``image_url`` + ``alt_text``, actions with buttons ≤75 characters and a URL), and that
``&``, ``<`` and ``>`` in mrkdwn are escaped unless they are Slack's own ``<url|label>`` syntax. Answers
``ok`` as text/plain, and ``no_service`` (404) for an unknown webhook; a 429 carries ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn

#: What may follow ``<`` in mrkdwn: a link, a user/channel mention, a special mention.
CONTROL = re.compile(r"<(https?://[^<>|\s]+|mailto:[^<>|\s]+|[@#][A-Z0-9]+|![a-z_^0-9]+)(\|[^<>]*)?>")
ENTITY = re.compile(r"&(amp|lt|gt);")
BLOCK_TYPES = {"section", "header", "image", "actions", "context", "divider"}


class BadBlocks(ValueError):
    """A block is not the shape Block Kit documents."""


def text_reply(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    return status, {"content-type": "text/plain; charset=utf-8", **(headers or {})}, text.encode()


class SlackStandIn(StandIn):
    name = "slack"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = (
            f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_urlsafe(18)}"
        )

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.path

    def handle(self, request: Received) -> Reply:
        if request.method != "POST":
            return text_reply(405, "invalid_method")
        if request.path != self.path:
            return text_reply(404, "no_service")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return text_reply(400, "invalid_payload")
        try:
            body = json.loads(request.body)
        except ValueError:
            return text_reply(400, "invalid_payload")
        if not isinstance(body, dict):
            return text_reply(400, "invalid_payload")
        text, blocks = body.get("text"), body.get("blocks")
        if not (isinstance(text, str) and text.strip()) and not blocks:
            return text_reply(400, "no_text")
        try:
            if text is not None:
                check_mrkdwn(_string(text, 40_000, "text"))
            if blocks is not None:
                check_blocks(blocks)
        except BadBlocks as exc:
            return text_reply(400, f"invalid_blocks: {exc}")
        reply = self.gate(
            self.path,
            body,
            throttled=lambda seconds: text_reply(429, "rate_limited", {"retry-after": str(max(1, round(seconds)))}),
            error=lambda status: text_reply(status, "rollup_error"),
        )
        return reply if reply is not None else text_reply(200, "ok")


def check_blocks(blocks: Any) -> None:
    """Raise :class:`BadBlocks` naming the first block that is not well formed."""
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        raise BadBlocks("blocks must be a list of 1 to 50 blocks")
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            raise BadBlocks(f"{where}: unknown block type")
        kind = block["type"]
        if kind == "header":
            _text_object(block.get("text"), 150, f"{where}.text", plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                raise BadBlocks(f"{where}: a section needs text or fields")
            if "text" in block:
                _text_object(block["text"], 3000, f"{where}.text")
        elif kind == "image":
            _url(block.get("image_url"), f"{where}.image_url")
            _string(block.get("alt_text"), 2000, f"{where}.alt_text")
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 25:
                raise BadBlocks(f"{where}.elements: 1 to 25 elements")
            for n, element in enumerate(elements):
                if not isinstance(element, dict) or element.get("type") != "button":
                    raise BadBlocks(f"{where}.elements[{n}]: only buttons are checked here")
                _text_object(element.get("text"), 75, f"{where}.elements[{n}].text", plain_only=True)
                if "url" in element:
                    _url(element["url"], f"{where}.elements[{n}].url")
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                raise BadBlocks(f"{where}.elements: 1 to 10 elements")


def check_mrkdwn(text: str) -> None:
    """Every ``&``, ``<`` and ``>`` is an entity or part of Slack's control syntax."""
    rest = ENTITY.sub("", CONTROL.sub("", text))
    for char in "&<>":
        if char in rest:
            raise BadBlocks(f"unescaped {char!r} in mrkdwn (write &amp; &lt; &gt;)")


def _string(value: Any, limit: int, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadBlocks(f"{where}: a non-empty string is required")
    if len(value) > limit:
        raise BadBlocks(f"{where}: must be at most {limit} characters")
    return value


def _url(value: Any, where: str) -> None:
    url = _string(value, 3000, where)
    if not url.startswith(("http://", "https://")):
        raise BadBlocks(f"{where}: must be an http(s) URL")


def _text_object(value: Any, limit: int, where: str, *, plain_only: bool = False) -> None:
    if not isinstance(value, dict) or value.get("type") not in ("plain_text", "mrkdwn"):
        raise BadBlocks(f"{where}: a text object (plain_text or mrkdwn) is required")
    if plain_only and value["type"] != "plain_text":
        raise BadBlocks(f"{where}: must be plain_text")
    text = _string(value.get("text"), limit, f"{where}.text")
    if value["type"] == "mrkdwn":
        check_mrkdwn(text)
