"""Telegram Bot API: ``sendVideo`` (an upload up to 50 MB, or the ``file_id`` of an earlier upload by the
same bot), else ``sendMessage`` with the share link.

Facts (https://core.telegram.org/bots/api#sendvideo, #sendmessage, #sending-files, and the Bots FAQ):
- a media caption holds 0-1024 characters after entity parsing, a text message 1-4096; we send no
  ``parse_mode``, so what we send is what is counted. Telegram measures entities in UTF-16 code units and
  reports differ on whether the length limit does too, so we count UTF-16 code units (never fewer than
  code points): a caption that fits here fits there;
- bots upload files of up to 50 MB; a ``file_id`` belongs to the bot that received it and may be sent to
  any chat by that bot (so uploads are remembered per bot, not per chat);
- about 20 messages per minute in one group; a 429 answer carries ``parameters.retry_after`` seconds.

The bot token is in every URL: it never appears in an error, a label or a log line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

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
    check_url,
    register,
)
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig

API_BASE = "https://api.telegram.org"
#: Bots may upload files of up to 50 MB (decimal, as the docs write it; the safe reading).
UPLOAD_LIMIT = 50 * 1000 * 1000
CAPTION = CaptionLimit(1024, "utf16")
MESSAGE = CaptionLimit(4096, "utf16")
TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


@register
class TelegramChannel(ChannelAdapter):
    type = "telegram"
    label = "Telegram"
    help = (
        "Create a bot with @BotFather (/newbot) and copy its token; add the bot to your group or channel "
        "(as an admin for channels). chat_id is the group's numeric id (starts with -100 for supergroups; "
        "forward a message to @userinfobot or read getUpdates) or @channelusername."
    )
    fields = (
        ConfigField("bot_token", "the bot token from @BotFather, 123456:ABC...", secret=True),
        ConfigField("chat_id", "the chat's numeric id (-100...) or @channelusername"),
        ConfigField("api_base", "the Bot API server (default https://api.telegram.org)", required=False),
    )
    rates = ("20/minute",)  # per group (Bots FAQ: "no more than 20 messages per minute to the same group")
    caption_limit = CAPTION
    default_template = "{{ title }}\n{{ caption }}\n{{ hashtags }}\n{{ share_url }}"
    official_hosts = ("api.telegram.org",)

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        if not TOKEN.match(config["bot_token"]):
            # never echo the value: it is the bot's password
            raise InvalidChannelConfig(
                "telegram: config.bot_token does not look like a bot token (digits, a colon, then letters, "
                "digits, _ or -); copy it from @BotFather"
            )
        if not CHAT.match(config["chat_id"]):
            raise InvalidChannelConfig(
                "telegram: config.chat_id must be a numeric chat id (such as -1001234567890) or @channelusername"
            )
        if "api_base" in config:
            base = check_url(
                cls.type, "api_base", config["api_base"], hosts=cls.official_hosts, extra_hosts=extra_hosts
            )
            config["api_base"] = base.rstrip("/")

    # --- identity -----------------------------------------------------------------------------------
    def bot_id(self) -> str:
        """A stable, non-secret name for the bot: a hash of its token."""
        return hashlib.sha256(self.config["bot_token"].encode()).hexdigest()[:24]

    def account_key(self) -> str:
        return f"{self.config['bot_token']}|{self.config['chat_id']}"

    def memory_scope(self) -> str:
        return self.config["bot_token"]  # a file_id works in every chat of the bot that received it

    def memory_key(self, media: MediaFile) -> str:
        # per bot, not per chat: a file_id works in every chat the same bot posts to
        return f"telegram:{self.bot_id()}:{media.key}:{media.size}"

    def method_url(self, method: str) -> str:
        return f"{self.config.get('api_base', API_BASE)}/bot{self.config['bot_token']}/{method}"

    # --- the exchange -------------------------------------------------------------------------------
    def exchange(self, post: Post) -> Exchange:
        video = post.video
        file_id = post.remembered.get(self.memory_key(video)) if video is not None else None
        uploadable = video is not None and video.path is not None and video.size <= UPLOAD_LIMIT
        if video is not None and (file_id or uploadable):
            _fit(post.caption, CAPTION, "a video caption")
            if file_id:
                response = yield self.send_video(post, file_id=file_id)
                if not (uploadable and _stale_file_id(response)):
                    return self.delivered(response, video)
                # Telegram no longer knows the file: the 400 posted nothing, so upload it instead
            response = yield self.send_video(post, file_id=None)
            return self.delivered(response, video)
        text = post.caption if post.share_url in post.caption else f"{post.caption}\n{post.share_url}".strip()
        _fit(text, MESSAGE, "a text message")
        response = yield HttpRequest(
            "POST",
            self.method_url("sendMessage"),
            json={"chat_id": self.config["chat_id"], "text": text},
            label="sendMessage",
        )
        return self.delivered(response, None)

    def send_video(self, post: Post, *, file_id: str | None) -> HttpRequest:
        """``sendVideo`` with the remembered ``file_id`` as a plain field, or the file as a multipart part."""
        assert post.video is not None
        form = {"chat_id": self.config["chat_id"], "supports_streaming": "true"}
        if post.caption:
            form["caption"] = post.caption
        if file_id:
            return HttpRequest("POST", self.method_url("sendVideo"), form={**form, "video": file_id}, label="sendVideo")
        video = post.video
        part = UploadPart("video", video.name or "clip.mp4", video.content_type or "video/mp4", path=video.path)
        return HttpRequest(
            "POST", self.method_url("sendVideo"), form=form, files=(part,), label="sendVideo", timeout=300.0
        )

    def delivered(self, response: HttpResponse, video: MediaFile | None) -> Delivered:
        """The message Telegram answered with, or the error its answer means."""
        result = self.result(response)
        message_id = result.get("message_id")
        chat = result.get("chat") or {}
        username = chat.get("username") if isinstance(chat, Mapping) else None
        url = f"https://t.me/{username}/{message_id}" if username and message_id is not None else None
        remember: dict[str, str] = {}
        if video is not None:
            sent: dict[str, Any] = next(
                (result[k] for k in ("video", "animation", "document") if isinstance(result.get(k), dict)), {}
            )
            if sent.get("file_id"):
                remember[self.memory_key(video)] = str(sent["file_id"])
        return Delivered(
            external_id=None if message_id is None else str(message_id),
            external_url=url,
            remember=remember,
            form="video" if video is not None else "link",
        )

    def result(self, response: HttpResponse) -> dict[str, Any]:
        """The ``result`` of an ``{"ok": true}`` answer; raise what an error answer means."""
        if response.status >= 500 and not response.body.lstrip().startswith(b"{"):
            raise ChannelUnavailable(f"telegram: HTTP {response.status}", code="server_error")
        answer = response.json()
        if not isinstance(answer, dict):
            raise ChannelUnavailable(f"telegram: HTTP {response.status} with an unexpected answer", code="bad_response")
        if answer.get("ok") is True and response.status < 400:
            result = answer.get("result")
            return result if isinstance(result, dict) else {}
        code = int(answer.get("error_code") or response.status)
        description = self.clean(str(answer.get("description") or f"HTTP {response.status}"))
        found = answer.get("parameters")
        parameters: dict[str, Any] = found if isinstance(found, dict) else {}
        if code == 429:
            wait = parameters.get("retry_after")
            seconds = float(wait) if isinstance(wait, int | float) else None
            raise ChannelThrottled(f"telegram: {description}", retry_after=seconds)
        if code >= 500:
            raise ChannelUnavailable(f"telegram: {description}", code="server_error")
        if code == 401:
            raise ChannelRejected(
                "telegram: the bot token was refused (401 Unauthorized); check config.bot_token with @BotFather",
                code="bad_token",
            )
        if code == 403:
            raise ChannelRejected(
                f"telegram: {description} (is the bot still a member of the chat, and allowed to post?)",
                code="forbidden",
            )
        if "migrate_to_chat_id" in parameters:
            raise ChannelRejected(
                f"telegram: the group became a supergroup; set config.chat_id to {parameters['migrate_to_chat_id']}",
                code="chat_migrated",
            )
        raise ChannelRejected(f"telegram: {description}", code=f"http_{code}")

    def clean(self, text: str) -> str:
        """``text`` with the bot token blanked out, should a proxy or server ever echo it."""
        return text.replace(self.config["bot_token"], "<bot token>")[:300]


def _fit(text: str, limit: CaptionLimit, what: str) -> None:
    """Refuse before sending what Telegram would refuse (Postiz's 4096-for-captions mistake)."""
    if not limit.fits(text):
        raise ChannelRejected(
            f"telegram: the caption is {limit.measure(text)} UTF-16 units, over the {limit.limit} allowed "
            f"in {what}; shorten the caption or its template",
            code="caption_too_long",
        )


def _stale_file_id(response: HttpResponse) -> bool:
    """A 400 saying the remembered ``file_id`` is not (any longer) valid."""
    if response.status != 400:
        return False
    text = response.body.decode("utf-8", "replace").lower()
    return "file identifier" in text or "file_id" in text or "wrong file" in text
