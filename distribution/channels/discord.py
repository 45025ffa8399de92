"""Discord webhook: the clip itself as an attachment when it is 10 MiB or less, else an embed with the share
link and the poster.

Facts (https://discord.com/developers/docs/resources/webhook#execute-webhook, /reference#uploading-files,
/topics/rate-limits):
- ``?wait=true`` makes Discord answer 200 with the message (its ``id``) instead of 204;
- files go as multipart ``files[n]`` parts plus a ``payload_json`` part whose ``attachments`` list gives
  each ``id`` (n) and ``filename``; the default upload limit is 10 MiB (since January 2025), 413 above;
- ``content`` holds up to 2000 characters; up to 10 embeds (title 256, description 4096, 6000 in all);
- a 429 answers JSON ``{"message", "retry_after": seconds (float), "global"}`` and a ``Retry-After`` header;
- webhooks allow about 5 requests per 2 seconds each (the ``X-RateLimit-*`` headers Discord sends, and
  discord/discord-api-docs#367: "it should be reporting 5/2").

``allowed_mentions`` is empty: a caption holding ``@everyone`` never pings a server.
"""

from __future__ import annotations

import json
import re
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
    UploadPart,
    check_url,
    register,
    retry_after,
)
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig

UPLOAD_LIMIT = 10 * 1024 * 1024
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
WEBHOOK_PATH = re.compile(r"^/api(/v\d+)?/webhooks/\d+/[A-Za-z0-9_-]+/?$")


@register
class DiscordChannel(ChannelAdapter):
    type = "discord"
    label = "Discord"
    help = (
        "In Discord: Server Settings → Integrations → Webhooks → New Webhook, pick the channel, "
        "'Copy Webhook URL' (https://discord.com/api/webhooks/<id>/<token>)."
    )
    fields = (
        ConfigField("webhook_url", "the webhook URL, https://discord.com/api/webhooks/<id>/<token>", secret=True),
    )
    rates = ("5/2 seconds",)
    caption_limit = CaptionLimit(CONTENT_LIMIT, "chars")
    official_hosts = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        url = check_url(
            cls.type, "webhook_url", config["webhook_url"], hosts=cls.official_hosts, extra_hosts=extra_hosts
        )
        if not WEBHOOK_PATH.match(urlsplit(url).path):
            raise InvalidChannelConfig(
                "discord: config.webhook_url must be a webhook URL, https://discord.com/api/webhooks/<id>/<token>"
            )

    def account_key(self) -> str:
        return self.config["webhook_url"]

    def execute_url(self) -> str:
        """The webhook URL with ``wait=true`` (kept beside any query it has, such as ``thread_id``)."""
        url = self.config["webhook_url"]
        return url + ("&" if urlsplit(url).query else "?") + "wait=true"

    def message(self, post: Post, *, embed: bool) -> dict[str, Any]:
        """The message JSON: the caption as ``content``, and an embed with link and picture when ``embed``."""
        body: dict[str, Any] = {"content": post.caption, "allowed_mentions": {"parse": []}}
        if embed:
            card: dict[str, Any] = {"title": _cut(post.title.strip() or "New clip", TITLE_LIMIT), "url": post.share_url}
            image = post.poster or post.cover
            if image is not None:
                card["image"] = {"url": image.url}
            body["embeds"] = [card]
        return body

    def exchange(self, post: Post) -> Exchange:
        if len(post.caption) > CONTENT_LIMIT:
            raise ChannelRejected(
                f"discord: the caption is {len(post.caption)} characters, over the {CONTENT_LIMIT} a message holds",
                code="caption_too_long",
            )
        video = post.video
        if video is not None and video.path is not None and video.size <= UPLOAD_LIMIT:
            payload = self.message(post, embed=False)
            name = video.name or "clip.mp4"
            payload["attachments"] = [{"id": 0, "filename": name, "description": _cut(post.title, 1024)}]
            response = yield HttpRequest(
                "POST",
                self.execute_url(),
                form={"payload_json": json.dumps(payload, ensure_ascii=False)},
                files=(UploadPart("files[0]", name, video.content_type or "video/mp4", path=video.path),),
                label="execute",
                timeout=300.0,
            )
            if response.status != 413:
                return self.delivered(response, form="video")
            # the server's limit is lower than ours (413 posted nothing): send the link instead
        response = yield HttpRequest("POST", self.execute_url(), json=self.message(post, embed=True), label="execute")
        return self.delivered(response, form="card")

    def delivered(self, response: HttpResponse, *, form: str) -> Delivered:
        self.check(response)
        message = response.json() if response.body else {}
        message = message if isinstance(message, dict) else {}
        message_id = message.get("id")
        channel, guild = message.get("channel_id"), message.get("guild_id")
        url = (
            f"https://discord.com/channels/{guild}/{channel}/{message_id}" if guild and channel and message_id else None
        )
        return Delivered(external_id=None if message_id is None else str(message_id), external_url=url, form=form)

    def check(self, response: HttpResponse) -> None:
        """Raise what an error answer means (Discord's JSON ``{"message", "code"}``)."""
        if response.status < 400:
            return
        answer = _json_or_none(response)
        message = str(answer.get("message") or f"HTTP {response.status}")[:200] if answer else f"HTTP {response.status}"
        if response.status == 429:
            wait = answer.get("retry_after") if answer else None
            seconds = float(wait) if isinstance(wait, int | float) else retry_after(response)
            scope = " (global)" if answer and answer.get("global") else ""
            raise ChannelThrottled(f"discord: rate limited{scope}", retry_after=seconds)
        if response.status >= 500:
            raise ChannelUnavailable(f"discord: HTTP {response.status}", code="server_error")
        code = answer.get("code") if answer else None
        if response.status in (401, 404) or code in (10015, 50027):
            raise ChannelRejected(
                f"discord: the webhook no longer works ({message}); make a new one and update config.webhook_url",
                code="webhook_gone",
            )
        details = _first_error(answer.get("errors")) if answer else ""
        raise ChannelRejected(
            f"discord: HTTP {response.status}: {message}{': ' + details if details else ''}",
            code=f"http_{response.status}",
        )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_or_none(response: HttpResponse) -> dict[str, Any] | None:
    try:
        answer = json.loads(response.body or b"null")
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _first_error(errors: Any, path: str = "") -> str:
    """The first field error of Discord's nested ``errors`` object, as ``field.path: message``."""
    if not isinstance(errors, dict):
        return ""
    found = errors.get("_errors")
    if isinstance(found, list) and found and isinstance(found[0], dict):
        return f"{path or 'body'}: {found[0].get('message', '')}"[:200]
    for key, value in errors.items():
        hit = _first_error(value, f"{path}.{key}" if path else str(key))
        if hit:
            return hit
    return ""
