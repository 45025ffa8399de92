"""Stand-in for a Feishu custom bot: ``POST /open-apis/bot/v2/hook/<token>``.

It checks what Feishu documents: a known token; a body of at most 20 KB; with a secret, ``timestamp``
(seconds) within an hour of now and ``sign`` = base64(HMAC-SHA256(key = timestamp + "\\n" + secret,
message = empty)); ``msg_type`` text, post, image, share_chat or interactive with its ``content`` or
``card``. A card needs a header title or elements, and each element a ``tag``; buttons need text and an
http(s) URL. It answers as Feishu does, HTTP 200 with ``{"code", "msg"}``: 19001 bad token, 9499 Bad
Request, 19021 signature, 11232 frequency limited (5/second and 100/minute per bot by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn, json_reply

PREFIX = "/open-apis/bot/v2/hook/"
MAX_BODY = 20_000
FRESH_SECONDS = 3600.0
CONTENT_TYPES = {"text", "post", "image", "share_chat"}


def _answer(code: int, message: str) -> Reply:
    extra = {"data": {}, "StatusCode": 0, "StatusMessage": "success"} if code == 0 else {"data": {}}
    return json_reply({"code": code, "msg": message, **extra})


class _Bad(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class FeishuStandIn(StandIn):
    name = "feishu"

    def __init__(
        self,
        *,
        token: str | None = None,
        secret: str | None = None,
        rates: tuple[tuple[int, float], ...] = ((5, 1.0), (100, 60.0)),
        **kwargs: Any,
    ) -> None:
        super().__init__(rates=rates, **kwargs)
        self.token = token or secrets.token_hex(16)
        self.secret = secret

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{PREFIX}{self.token}"

    def target_config(self) -> dict[str, str]:
        """A ``feishu`` target's config pointing here."""
        return {"webhook_url": self.webhook_url, **({"secret": self.secret} if self.secret else {})}

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or not request.path.startswith(PREFIX):
            return json_reply({"code": 404, "msg": "not found"}, 404)
        token = request.path[len(PREFIX) :]
        if token != self.token:
            return _answer(19001, "param invalid: incoming webhook access token invalid")
        try:
            body = self._check(request)
        except _Bad as bad:
            return _answer(bad.code, str(bad))
        reply = self.gate(token, {"bot": token, **body}, throttled=lambda _: _answer(11232, "frequency limited"))
        return reply or _answer(0, "success")

    def _check(self, request: Received) -> dict[str, Any]:
        if len(request.body) > MAX_BODY:
            raise _Bad(9499, "Bad Request")  # Feishu's answer to a body over 20 KB
        try:
            body = request.json()
        except ValueError:
            raise _Bad(9499, "Bad Request") from None
        if not isinstance(body, dict):
            raise _Bad(9499, "Bad Request")
        if self.secret is not None:
            self._verify(body)
        kind = body.get("msg_type")
        if kind == "interactive":
            _card(body.get("card"))
        elif kind in CONTENT_TYPES:
            if not isinstance(body.get("content"), dict) or not body["content"]:
                raise _Bad(9499, f"Bad Request: {kind} needs content")
        else:
            raise _Bad(9499, f"Bad Request: unknown msg_type {kind!r}")
        return {k: v for k, v in body.items() if k not in ("timestamp", "sign")}

    def _verify(self, body: dict[str, Any]) -> None:
        assert self.secret is not None
        stamp, sign = body.get("timestamp"), body.get("sign")
        failed = _Bad(19021, "sign match fail or timestamp is not within one hour from current time")
        if not isinstance(stamp, str | int) or not isinstance(sign, str) or not str(stamp).isdigit():
            raise failed
        if abs(time.time() - int(stamp)) > FRESH_SECONDS:
            raise failed
        expected = base64.b64encode(hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest())
        if not hmac.compare_digest(expected.decode(), sign):
            raise failed


def _card(card: Any) -> None:
    if not isinstance(card, dict):
        raise _Bad(9499, "Bad Request: interactive needs a card object")
    header, elements = card.get("header"), card.get("elements")
    if header is not None:
        title = header.get("title") if isinstance(header, dict) else None
        if not isinstance(title, dict) or not isinstance(title.get("content"), str) or not title["content"]:
            raise _Bad(9499, "Bad Request: card.header.title.content is required")
    if not isinstance(elements, list) or not (elements or header):
        raise _Bad(9499, "Bad Request: card.elements must be a list")
    for element in elements:
        if not isinstance(element, dict) or not isinstance(element.get("tag"), str):
            raise _Bad(9499, "Bad Request: every card element needs a tag")
        if element["tag"] == "div":
            text = element.get("text")
            if not isinstance(text, dict) or text.get("tag") not in ("plain_text", "lark_md"):
                raise _Bad(9499, "Bad Request: div.text needs tag plain_text or lark_md")
        if element["tag"] == "action":
            for button in element.get("actions") or []:
                url = button.get("url") if isinstance(button, dict) else None
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    raise _Bad(9499, "Bad Request: a button needs an http(s) url")
