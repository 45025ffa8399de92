"""Feishu / Lark custom bot (自定义机器人): ``POST /open-apis/bot/v2/hook/<token>`` with a JSON body.

When the bot has 签名校验 (signature) on, the body carries ``timestamp`` (seconds, a string) and
``sign`` = base64(HMAC-SHA256(key = timestamp + "\\n" + secret, message = empty)); Feishu refuses a
timestamp more than an hour off. Bodies are at most 20 KB; a bot may send 5 a second and 100 a minute.

A custom bot cannot upload anything, and a card image needs an ``image_key`` that only an uploading app
can get. So the clip goes as one ``interactive`` card: a header with the title, the caption as
``lark_md``, a button to the share link and, when there is one, a button to the poster (or cover). The
cover is linked, not shown inline: that is the most a custom bot can do.

The caption's ``<`` and ``>`` are sent as entities, so a caption cannot carry an ``<at id=all>`` mention.
Answers: ``{"code": 0, "msg": "success"}`` (older bots: ``StatusCode``); 11232 frequency limited,
9499 "Bad Request" (or "too many request"), 19021 bad signature or stale timestamp, 19022 IP not allowed,
19024 keyword missing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from distribution.channels.base import (
    CaptionLimit,
    ChannelAdapter,
    ConfigField,
    Delivered,
    Exchange,
    HttpRequest,
    HttpResponse,
    Post,
    check_status,
    check_url,
    register,
    retry_after,
)
from distribution.channels.robots import JSON_HEADERS, check_body, check_caption, json_body
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig

HOOK_PREFIX = "/open-apis/bot/v2/hook/"
#: "请求体大小不能超过20k": counted as 20,000 bytes to stay clear of either reading.
MAX_BODY = 20_000
#: The caption's share of the body: 15,000 bytes leaves 5 KB for the title, the links and the card.
CAPTION_BYTES = 15_000
#: Feishu's answer to a rate limit says nothing about when to come back.
THROTTLE_WAIT = 10.0

FREQUENCY_LIMITED, BAD_REQUEST, SIGN_FAILED, IP_NOT_ALLOWED, KEYWORD_MISSING = 11232, 9499, 19021, 19022, 19024


def feishu_sign(timestamp: int | str, secret: str) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key = f"{timestamp}\\n{secret}", message = b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


@register
class FeishuChannel(ChannelAdapter):
    type = "feishu"
    label = "Feishu / Lark bot (飞书自定义机器人)"
    help = (
        "In the Feishu group: Settings → 群机器人 (Bots) → 添加机器人 → 自定义机器人 (Custom bot); copy the webhook "
        "address (https://open.feishu.cn/open-apis/bot/v2/hook/…, or open.larksuite.com for Lark). Turn on "
        "签名校验 (Signature verification) and give its secret too."
    )
    fields = (
        ConfigField(
            "webhook_url", "the bot's webhook address, https://open.feishu.cn/open-apis/bot/v2/hook/…", secret=True
        ),
        ConfigField("secret", "the signature secret (签名校验), if the bot has one", required=False, secret=True),
    )
    rates = ("5/second", "100/minute")
    caption_limit = CaptionLimit(CAPTION_BYTES, "bytes")
    #: The card shows the title in its header and links the share URL from a button.
    default_template = "{{ caption }}\n{{ hashtags }}"
    official_hosts = ("open.feishu.cn", "open.larksuite.com")

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        url = check_url(
            cls.type, "webhook_url", config["webhook_url"], hosts=cls.official_hosts, extra_hosts=extra_hosts
        )
        path = urlsplit(url).path
        if not path.startswith(HOOK_PREFIX) or not path[len(HOOK_PREFIX) :].strip("/"):
            raise InvalidChannelConfig(f"feishu: config.webhook_url must be the bot's address, …{HOOK_PREFIX}<token>")

    def account_key(self) -> str:
        return urlsplit(self.config["webhook_url"]).path[len(HOOK_PREFIX) :].strip("/")

    def card(self, post: Post) -> dict[str, Any]:
        """The interactive card (message card JSON: config, header, elements)."""
        buttons: list[dict[str, Any]] = [_button("▶ 观看视频", post.share_url, "primary")]
        picture = post.poster or post.cover
        if picture is not None:
            buttons.append(_button("查看海报" if post.poster else "查看封面", picture.url, "default"))
        elements: list[dict[str, Any]] = []
        if post.caption.strip():
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": _escape(post.caption)}})
        elements.append({"tag": "action", "actions": buttons})
        return {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": post.title.strip() or "视频"}, "template": "blue"},
            "elements": elements,
        }

    def body(self, post: Post) -> dict[str, Any]:
        """The request body: the card, signed when the target has a secret."""
        body: dict[str, Any] = {}
        secret = self.config.get("secret")
        if secret:
            timestamp = str(int(self.clock()))
            body.update(timestamp=timestamp, sign=feishu_sign(timestamp, secret))
        body.update(msg_type="interactive", card=self.card(post))
        return body

    def exchange(self, post: Post) -> Exchange:
        check_caption(self.type, self.caption_limit, post.caption)
        payload = json_body(self.body(post))
        check_body(self.type, payload, MAX_BODY)
        response = yield HttpRequest("POST", self.config["webhook_url"], headers=JSON_HEADERS, content=payload)
        _answer(response)
        return Delivered(form="card")  # the service gives no id or URL for a message


def _button(text: str, url: str, kind: str) -> dict[str, Any]:
    return {"tag": "button", "text": {"tag": "plain_text", "content": text}, "type": kind, "url": url}


def _escape(text: str) -> str:
    """``<`` and ``>`` as HTML entities, so typed text cannot become an ``<at>`` or other tag."""
    return text.replace("<", "&#60;").replace(">", "&#62;")


def _answer(response: HttpResponse) -> None:
    """Raise the delivery error Feishu's answer means (HTTP status first, then ``code``)."""
    check_status(response, "feishu")
    body = response.json()
    if not isinstance(body, dict):
        raise ChannelUnavailable("feishu: the answer is not a JSON object", code="bad_response")
    code = body.get("code", body.get("StatusCode"))
    message = str(body.get("msg", body.get("StatusMessage", "")))[:200]
    if not isinstance(code, int):
        raise ChannelUnavailable("feishu: the answer has no code", code="bad_response")
    if code == 0:
        return
    if code == FREQUENCY_LIMITED or (code == BAD_REQUEST and "too many" in message.lower()):
        wait = retry_after(response) or _reset_header(response) or THROTTLE_WAIT
        raise ChannelThrottled(f"feishu: rate limited (code {code}: {message})", retry_after=wait)
    if code == SIGN_FAILED:
        raise ChannelRejected(
            "feishu: signature refused (code 19021): check the secret, and that this machine's clock is right",
            code="bad_signature",
        )
    if code == IP_NOT_ALLOWED:
        raise ChannelRejected(
            "feishu: this machine's IP is not in the bot's allow-list (code 19022)", code="ip_not_allowed"
        )
    if code == KEYWORD_MISSING:
        raise ChannelRejected(
            "feishu: the message lacks the bot's keyword (code 19024): add it to the caption template",
            code="keyword_missing",
        )
    raise ChannelRejected(f"feishu: code {code}: {message}", code=f"feishu_{code}")


def _reset_header(response: HttpResponse) -> float | None:
    """Seconds from ``x-ogw-ratelimit-reset``, which Feishu's gateway sends with some limits."""
    value = response.header("x-ogw-ratelimit-reset")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
