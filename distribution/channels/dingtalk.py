"""DingTalk (钉钉) custom robot: ``POST /robot/send?access_token=T`` with a JSON body.

With 加签 (signing) on, the query also carries ``timestamp`` (milliseconds) and ``sign`` =
urlencode(base64(HMAC-SHA256(key = secret, message = timestamp + "\\n" + secret))): the key and message
are the reverse of Feishu's. DingTalk refuses a timestamp more than an hour off.

The clip goes as one ``actionCard``: markdown text with the cover (or poster) as ``![](url)`` and the
caption, and a single button to the share link. A robot may send 20 messages a minute; going over stops
it for 10 minutes (errcode 130101), so a throttle here means a 600-second wait.

Sizes: DingTalk refuses a message over 20,000 bytes (errcode 460101, "message too long, exceed 20000
bytes"); its documents give no separate markdown limit. The caption limit, 4,000 characters, keeps the
body under that even at 4 bytes a character (emoji), with room for the title and links.
Answers are HTTP 200 with ``{"errcode", "errmsg"}``: 0 ok, 130101 too fast, 310000 signature / keyword /
IP refused, 300001 unknown token, -1 busy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

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
    register,
)
from distribution.channels.robots import (
    JSON_HEADERS,
    check_body,
    check_caption,
    check_robot_url,
    json_body,
    query_value,
)
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig

SEND_PATH = "/robot/send"
MAX_BODY = 20_000
CAPTION_CHARS = 4_000
#: Going over 20 a minute stops the robot for 10 minutes.
THROTTLE_WAIT = 600.0

OK, BUSY, TOO_FAST, SECURITY, NO_TOKEN, TOO_LONG = 0, -1, 130101, 310000, 300001, 460101


def dingtalk_sign(timestamp_ms: int | str, secret: str) -> str:
    """DingTalk's signature, before URL-encoding.

    base64(HMAC-SHA256(key = secret, message = f"{timestamp}\\n{secret}")).
    """
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@register
class DingTalkChannel(ChannelAdapter):
    type = "dingtalk"
    label = "DingTalk robot (钉钉自定义机器人)"
    help = (
        "In the DingTalk group: 群设置 → 机器人 (Robots) → 添加机器人 → 自定义 (Custom, via Webhook); choose 加签 "
        "(Additional signature) as the security setting and copy its secret (SEC…), then copy the Webhook "
        "address, https://oapi.dingtalk.com/robot/send?access_token=…."
    )
    fields = (
        ConfigField(
            "webhook_url",
            "the robot's Webhook address, https://oapi.dingtalk.com/robot/send?access_token=…",
            secret=True,
        ),
        ConfigField("secret", "the 加签 (signing) secret, SEC…, if the robot has one", required=False, secret=True),
    )
    rates = ("20/minute",)
    caption_limit = CaptionLimit(CAPTION_CHARS, "chars")
    #: The card shows the title as a heading and links the share URL from its button.
    default_template = "{{ caption }}\n\n{{ hashtags }}"
    official_hosts = ("oapi.dingtalk.com",)

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        check_robot_url(
            cls.type,
            config["webhook_url"],
            hosts=cls.official_hosts,
            extra_hosts=extra_hosts,
            path=SEND_PATH,
            param="access_token",
        )
        secret = config.get("secret")
        if secret is not None and not secret.startswith("SEC"):
            raise InvalidChannelConfig("dingtalk: config.secret must be the robot's 加签 secret, which starts with SEC")

    def account_key(self) -> str:
        return query_value(self.config["webhook_url"], "access_token")

    def url(self) -> str:
        """The webhook URL, with ``timestamp`` and ``sign`` added when the target has a secret."""
        url = self.config["webhook_url"]
        secret = self.config.get("secret")
        if not secret:
            return url
        timestamp = str(int(self.clock() * 1000))
        return f"{url}&{urlencode({'timestamp': timestamp, 'sign': dingtalk_sign(timestamp, secret)})}"

    def body(self, post: Post) -> dict[str, Any]:
        """The actionCard: cover image, title and caption in markdown, one button to the share link."""
        title = post.title.strip() or "视频"
        picture = post.cover or post.poster
        parts = [f"![]({_markdown_url(picture.url)})"] if picture is not None else []
        parts.append(f"### {title}")
        if post.caption.strip():
            parts.append(post.caption)
        return {
            "msgtype": "actionCard",
            "actionCard": {
                "title": title,
                "text": "\n\n".join(parts),
                "btnOrientation": "0",
                "singleTitle": "观看视频",
                "singleURL": post.share_url,
            },
        }

    def exchange(self, post: Post) -> Exchange:
        check_caption(self.type, self.caption_limit, post.caption)
        payload = json_body(self.body(post))
        check_body(self.type, payload, MAX_BODY)
        response = yield HttpRequest("POST", self.url(), headers=JSON_HEADERS, content=payload)
        _answer(response)
        return Delivered(form="card")  # the service gives no id or URL for a message


def _markdown_url(url: str) -> str:
    """``url`` safe inside markdown's ``(...)``: parentheses and spaces percent-encoded."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _answer(response: HttpResponse) -> None:
    """Raise the delivery error DingTalk's answer means (HTTP status first, then ``errcode``)."""
    check_status(response, "dingtalk")
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
        raise ChannelUnavailable("dingtalk: the answer has no errcode", code="bad_response")
    code: int = body["errcode"]
    message = str(body.get("errmsg", ""))[:200]
    if code == OK:
        return
    if code == TOO_FAST:
        raise ChannelThrottled(
            f"dingtalk: sent too fast, the robot is stopped for 10 minutes (errcode 130101: {message})",
            retry_after=THROTTLE_WAIT,
        )
    if code == BUSY:
        raise ChannelUnavailable("dingtalk: system busy (errcode -1)", code="busy")
    if code == SECURITY:
        raise ChannelRejected(
            f"dingtalk: refused by the robot's security settings (errcode 310000: {message}); check the secret, "
            "the keyword and the IP allow-list, and that this machine's clock is right",
            code="security_refused",
        )
    if code == NO_TOKEN:
        raise ChannelRejected("dingtalk: the access_token is not valid (errcode 300001)", code="invalid_token")
    raise ChannelRejected(f"dingtalk: errcode {code}: {message}", code=f"dingtalk_{code}")
