"""WeCom (企业微信) group robot: ``POST /cgi-bin/webhook/send?key=K``; the key in the URL is the only secret.

WeCom has no video message. A clip whose file is on disk and 20 MB or less is uploaded with
``/cgi-bin/webhook/upload_media?key=K&type=file`` (multipart field ``media``; the ``media_id`` lasts 3 days
and is remembered, so the next group on the same robot skips the upload) and sent as a ``file`` message,
followed by the caption as a ``text`` message. Otherwise the clip goes as a ``news`` card (title,
description, the share link as ``url``, the poster or cover as ``picurl``); a caption longer than a card's
description (512 bytes) follows as a ``text`` message.

The caption goes as ``text`` (2048 bytes), not ``markdown`` (4096 bytes): markdown does not render for
members reading in WeChat, and text links URLs by itself. Limits are in UTF-8 bytes (a Chinese character
is 3).

Two visible messages and never double-posting: the upload (``posts=False``) comes first, then the media
message, then the text. A failure before the media message leaves nothing in the group and is safe to
retry; a failure of the text after the media message went out is :func:`~distribution.channels.robots.partial_post`
(rejected, not retried, since a retry would post the file again); a timeout on either is "unknown" to the
sender, as for any ``posts=True`` request. A remembered ``media_id`` that WeCom no longer knows (expired)
is replaced by a fresh upload within the same exchange, before anything is visible.

Answers are HTTP 200 with ``{"errcode", "errmsg"}``: 0 ok, 45009 rate limited, -1 busy, 93000 bad key.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from distribution.channels.base import (
    CaptionLimit,
    ChannelAdapter,
    ConfigField,
    Delivered,
    Exchange,
    HttpRequest,
    HttpResponse,
    MediaFile,
    Post,
    UploadPart,
    check_status,
    register,
)
from distribution.channels.robots import (
    JSON_HEADERS,
    check_caption,
    check_robot_url,
    cut_bytes,
    json_body,
    partial_post,
    query_value,
)
from distribution.errors import (
    ChannelRejected,
    ChannelThrottled,
    ChannelUnavailable,
    DeliveryError,
)

SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"
#: upload_media takes files of more than 5 bytes and at most 20 MB.
MIN_FILE, MAX_FILE = 6, 20 * 1024 * 1024
#: How long WeCom keeps an uploaded ``media_id`` (remembered ids older than this are dropped by the caller).
MEDIA_TTL_SECONDS = 3 * 24 * 3600
TEXT_LIMIT = 2048
NEWS_TITLE_LIMIT, NEWS_DESCRIPTION_LIMIT = 128, 512
#: WeCom's limit is per minute and its answer gives no wait: one window.
THROTTLE_WAIT = 60.0

OK, BUSY, RATE_LIMITED, INVALID_KEY, INVALID_MEDIA, TOO_LONG = 0, -1, 45009, 93000, 40007, 40058

Steps = Generator[HttpRequest, HttpResponse, Any]


@register
class WeComChannel(ChannelAdapter):
    type = "wecom"
    label = "WeCom group robot (企业微信群机器人)"
    help = (
        "In the WeCom group: ⋯ → 群机器人 (Group robots) → 添加 (Add) → 新创建一个机器人, then copy its Webhook "
        "address, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…. The key is the secret: whoever holds "
        "the address can post to the group."
    )
    fields = (
        ConfigField(
            "webhook_url",
            "the robot's Webhook address, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
            secret=True,
        ),
    )
    rates = ("20/minute",)
    caption_limit = CaptionLimit(TEXT_LIMIT, "bytes")
    default_template = "{{ title }}\n{{ caption }}\n{{ hashtags }}\n👉 {{ share_url }}"
    official_hosts = ("qyapi.weixin.qq.com",)

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        check_robot_url(
            cls.type,
            config["webhook_url"],
            hosts=cls.official_hosts,
            extra_hosts=extra_hosts,
            path=SEND_PATH,
            param="key",
        )

    @property
    def key(self) -> str:
        return query_value(self.config["webhook_url"], "key")

    def account_key(self) -> str:
        return self.key  # WeCom's 20/minute is per robot, and the key is the robot

    def upload_url(self) -> str:
        """``upload_media`` on the same host, with the same key and ``type=file``."""
        parts = urlsplit(self.config["webhook_url"])
        return urlunsplit((parts.scheme, parts.netloc, UPLOAD_PATH, urlencode({"key": self.key, "type": "file"}), ""))

    def exchange(self, post: Post) -> Exchange:
        check_caption(self.type, self.caption_limit, post.caption)
        video = post.video
        if video is not None and video.path is not None and MIN_FILE <= video.size <= MAX_FILE:
            delivered: Delivered = yield from self._as_file(post, video)
        else:
            delivered = yield from self._as_card(post)
        return delivered

    # --- the two forms ------------------------------------------------------------------------------
    def _as_file(self, post: Post, video: MediaFile) -> Steps:
        memory = self.memory_key(video)
        media_id = post.remembered.get(memory)
        remember: dict[str, str] = {}
        if not media_id:
            media_id = yield from self._upload(video)
            remember = {memory: media_id}
        response = yield self._send({"msgtype": "file", "file": {"media_id": media_id}}, "send_file")
        try:
            _answer(response, "send file")
        except ChannelRejected as exc:
            if exc.code != "invalid_media" or remember:
                raise
            # The remembered id has expired on WeCom's side: nothing was posted, so upload again and resend.
            media_id = yield from self._upload(video)
            remember = {memory: media_id}
            response = yield self._send({"msgtype": "file", "file": {"media_id": media_id}}, "send_file")
            _answer(response, "send file")
        yield from self._then_text(post, "the video file")
        return Delivered(remember=remember, form="file")

    def _as_card(self, post: Post) -> Steps:
        picture = post.poster or post.cover
        fits = len(post.caption.encode("utf-8")) <= NEWS_DESCRIPTION_LIMIT
        article: dict[str, str] = {
            "title": cut_bytes(_title(post), NEWS_TITLE_LIMIT),
            "description": post.caption if fits else cut_bytes(post.caption, NEWS_DESCRIPTION_LIMIT),
            "url": post.share_url,
        }
        if picture is not None:
            article["picurl"] = picture.url
        response = yield self._send({"msgtype": "news", "news": {"articles": [article]}}, "send_news")
        _answer(response, "send news card")
        if not fits:
            yield from self._then_text(post, "the news card")
        return Delivered(form="card")  # the service gives no id or URL for a message

    # --- requests -----------------------------------------------------------------------------------
    def _upload(self, video: MediaFile) -> Generator[HttpRequest, HttpResponse, str]:
        response = yield HttpRequest(
            "POST",
            self.upload_url(),
            files=(UploadPart("media", video.name, video.content_type or "video/mp4", path=video.path),),
            posts=False,
            timeout=120.0,
            label="upload_media",
        )
        body = _answer(response, "upload_media")
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise ChannelUnavailable("wecom upload_media: the answer has no media_id", code="bad_response")
        return media_id

    def _send(self, message: dict[str, Any], label: str) -> HttpRequest:
        return HttpRequest(
            "POST", self.config["webhook_url"], headers=JSON_HEADERS, content=json_body(message), label=label
        )

    def _then_text(self, post: Post, sent: str) -> Generator[HttpRequest, HttpResponse, None]:
        """The caption as a text message after ``sent`` is visible; its failure is a partial post."""
        if not post.caption.strip():
            return
        response = yield self._send({"msgtype": "text", "text": {"content": post.caption}}, "send_text")
        try:
            _answer(response, "send text")
        except DeliveryError as exc:
            raise partial_post(self.type, sent, "the caption text", exc) from exc


def _title(post: Post) -> str:
    if post.title.strip():
        return post.title.strip()
    first = next((line.strip() for line in post.caption.splitlines() if line.strip()), "")
    return first or "视频"


def _answer(response: HttpResponse, what: str) -> dict[str, Any]:
    """WeCom's answer as a dict, or the delivery error its HTTP status or ``errcode`` means."""
    check_status(response, f"wecom {what}")
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
        raise ChannelUnavailable(f"wecom {what}: the answer has no errcode", code="bad_response")
    code: int = body["errcode"]
    message = str(body.get("errmsg", ""))[:200]
    if code == OK:
        return body
    if code == RATE_LIMITED:
        raise ChannelThrottled(f"wecom {what}: rate limited (errcode 45009: {message})", retry_after=THROTTLE_WAIT)
    if code == BUSY:
        raise ChannelUnavailable(f"wecom {what}: system busy (errcode -1)", code="busy")
    if code == INVALID_KEY:
        raise ChannelRejected(f"wecom {what}: the webhook key is not valid (errcode 93000)", code="invalid_key")
    if code == INVALID_MEDIA:
        raise ChannelRejected(f"wecom {what}: unknown or expired media_id (errcode 40007)", code="invalid_media")
    raise ChannelRejected(f"wecom {what}: errcode {code}: {message}", code=f"wecom_{code}")
