"""Stand-in for a DingTalk custom robot: ``POST /robot/send?access_token=T[&timestamp=&sign=]``.

It checks what DingTalk documents: a known token; a body of at most 20,000 bytes (460101); with a secret,
``timestamp`` (ms) within an hour of now and ``sign`` = base64(HMAC-SHA256(key = secret, message =
timestamp + "\\n" + secret)) (310000 otherwise); ``msgtype`` text, link, markdown, actionCard or feedCard
with its required fields (40035, this stand-in's code for a missing field). Over the rate (20/minute by
default) the robot stays throttled for ``throttle_seconds`` (10 minutes, as DingTalk does; lower it in
tests), answering 130101. Answers are HTTP 200 with ``{"errcode", "errmsg"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn, json_reply

SEND = "/robot/send"
MAX_BODY = 20_000
FRESH_MS = 3600 * 1000
REQUIRED = {
    "text": ("content",),
    "link": ("title", "text", "messageUrl"),
    "markdown": ("title", "text"),
    "actionCard": ("title", "text"),
    "feedCard": ("links",),
}


def _error(code: int, message: str) -> Reply:
    return json_reply({"errcode": code, "errmsg": message})


def _too_fast(_: float) -> Reply:
    return _error(130101, "send too fast, exceed 20 times per minute")


class DingTalkStandIn(StandIn):
    name = "dingtalk"

    def __init__(
        self,
        *,
        token: str | None = None,
        secret: str | None = None,
        rates: tuple[tuple[int, float], ...] = ((20, 60.0),),
        throttle_seconds: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(rates=rates, **kwargs)
        self.token = token or secrets.token_hex(32)
        self.secret = secret
        self.throttle_seconds = throttle_seconds
        self.blocked_until: dict[str, float] = {}
        self._block_lock = threading.Lock()

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{SEND}?access_token={self.token}"

    def target_config(self) -> dict[str, str]:
        """A ``dingtalk`` target's config pointing here."""
        return {"webhook_url": self.webhook_url, **({"secret": self.secret} if self.secret else {})}

    def over_rate(self, account: str) -> bool:
        """A robot over its rate stays throttled for :attr:`throttle_seconds`, counting nothing meanwhile."""
        now = time.monotonic()
        with self._block_lock:
            if self.blocked_until.get(account, 0.0) > now:
                self.rejected_for_rate += 1
                return True
        if super().over_rate(account):
            with self._block_lock:
                self.blocked_until[account] = now + self.throttle_seconds
            return True
        return False

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != SEND:
            return json_reply({"errcode": 404, "errmsg": "not found"}, 404)
        token = request.query.get("access_token", "")
        if token != self.token:
            return _error(300001, "token is not exist")
        if self.secret is not None and not self._signed(request.query):
            return _error(310000, "sign not match or timestamp is more than an hour off")
        if len(request.body) > MAX_BODY:
            return _error(460101, f"message too long, exceed {MAX_BODY} bytes")
        try:
            body = request.json()
        except ValueError:
            return _error(40035, "缺少参数 json")
        problem = _problem(body)
        if problem:
            return _error(40035, problem)
        reply = self.gate(token, {"robot": token, **body}, throttled=_too_fast)
        return reply or _error(0, "ok")

    def _signed(self, query: dict[str, str]) -> bool:
        assert self.secret is not None
        stamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > FRESH_MS:
            return False
        digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def _problem(body: Any) -> str | None:
    """What is wrong with a message body, or None."""
    if not isinstance(body, dict):
        return "缺少参数 json"
    kind = body.get("msgtype")
    if kind not in REQUIRED:
        return f"unsupported msgtype {kind!r}"
    part = body.get(kind)
    if not isinstance(part, dict):
        return f"missing {kind}"
    missing = [name for name in REQUIRED[kind] if not part.get(name)]
    if missing:
        return f"missing {kind}.{', '.join(missing)}"
    if kind == "actionCard":
        single = part.get("singleTitle") and part.get("singleURL")
        buttons = part.get("btns")
        if not single and not (isinstance(buttons, list) and buttons):
            return "actionCard needs singleTitle and singleURL, or btns"
        url = part.get("singleURL")
        if single and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return "actionCard.singleURL must be an http(s) URL"
    return None
