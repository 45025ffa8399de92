"""Slack incoming webhook: a JSON message with Block Kit blocks (title, caption, poster, a button to the
share link) and a ``text`` fallback for notifications. Incoming webhooks cannot upload files.

Facts (https://api.slack.com/messaging/webhooks, /reference/block-kit/blocks, /reference/surfaces/formatting):
- the answer is HTTP 200 with the text ``ok``; errors are plain-text codes: 400 ``invalid_payload`` /
  ``invalid_blocks`` / ``no_text``, 403 ``action_prohibited`` / ``invalid_token``, 404 ``no_service`` /
  ``channel_not_found``, 410 ``channel_is_archived``, 429 with ``Retry-After``, 500 ``rollup_error``;
- in mrkdwn (and ``text``) ``&``, ``<`` and ``>`` must be written ``&amp;``, ``&lt;``, ``&gt;``;
- a section's text holds at most 3000 characters, a header 150, a button label 75, an image alt text 2000;
- one message per second per webhook (https://api.slack.com/apis/rate-limits#incoming-webhooks).
"""

from __future__ import annotations

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
)
from distribution.errors import ChannelRejected, InvalidChannelConfig

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_LIMIT = 75
ALT_LIMIT = 2000
#: What the codes in a refused answer mean for the person fixing the target.
GONE = {"no_service", "channel_not_found", "channel_is_archived", "invalid_token", "no_team", "team_disabled"}


def escape(text: str) -> str:
    """``text`` as Slack requires in mrkdwn and ``text``: ``&``, ``<`` and ``>`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@register
class SlackChannel(ChannelAdapter):
    type = "slack"
    label = "Slack"
    help = (
        "In Slack: create an app (api.slack.com/apps), turn on Incoming Webhooks, 'Add New Webhook to "
        "Workspace', pick the channel, and copy the URL (https://hooks.slack.com/services/T.../B.../...)."
    )
    fields = (
        ConfigField("webhook_url", "the incoming webhook URL, https://hooks.slack.com/services/...", secret=True),
    )
    rates = ("1/second",)
    caption_limit = CaptionLimit(SECTION_LIMIT, "chars")
    official_hosts = ("hooks.slack.com",)

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        url = check_url(
            cls.type, "webhook_url", config["webhook_url"], hosts=cls.official_hosts, extra_hosts=extra_hosts
        )
        parts = [p for p in urlsplit(url).path.split("/") if p]
        if len(parts) != 4 or parts[0] != "services":
            raise InvalidChannelConfig(
                "slack: config.webhook_url must be an incoming webhook URL, https://hooks.slack.com/services/T…/B…/…"
            )

    def account_key(self) -> str:
        return self.config["webhook_url"]

    def payload(self, post: Post) -> dict[str, Any]:
        """The message: header, caption sections, poster or cover image, a button to the share link."""
        title = post.title.strip() or "New clip"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(title, HEADER_LIMIT), "emoji": True}}
        ]
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in _sections(post.caption)]
        image = post.poster or post.cover
        if image is not None:
            blocks.append({"type": "image", "image_url": image.url, "alt_text": _cut(title, ALT_LIMIT)})
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "观看 / Watch", "emoji": True},
                        "url": post.share_url,
                        "action_id": "open_share_link",
                    }
                ],
            }
        )
        # the notification text: Slack's link syntax needs the URL's own < > | escaped too
        fallback = f"{escape(title)}: <{escape(post.share_url).replace('|', '%7C')}>"
        return {"text": fallback, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}

    def exchange(self, post: Post) -> Exchange:
        if not self.caption_limit.fits(post.caption):
            raise ChannelRejected(
                f"slack: the caption is {len(post.caption)} characters, over the {SECTION_LIMIT} a section holds",
                code="caption_too_long",
            )
        response = yield HttpRequest("POST", self.config["webhook_url"], json=self.payload(post), label="send")
        self.check(response)
        return Delivered(form="link")

    def check(self, response: HttpResponse) -> None:
        """Slack's plain-text answer: ``ok``, or a code that says what is wrong."""
        code = response.body.decode("utf-8", "replace").strip()[:100]
        if response.status == 200:
            if code and code != "ok":
                raise ChannelRejected(f"slack: unexpected answer {code!r}", code="bad_response")
            return
        if 400 <= response.status < 500 and response.status != 429 and code in GONE:
            raise ChannelRejected(
                f"slack: the webhook no longer works ({code}); add a new webhook and update config.webhook_url",
                code=code,
            )
        if 400 <= response.status < 500 and response.status != 429:
            raise ChannelRejected(f"slack: HTTP {response.status}: {code or 'refused'}", code=code or "rejected")
        check_status(response, "slack")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sections(caption: str) -> list[str]:
    """The caption escaped, in pieces of at most 3000 characters each (escaping lengthens it), split at line
    ends where it can and never inside an entity."""
    pieces: list[str] = []
    current = ""
    for line in caption.strip().splitlines(keepends=True):
        for char in line:
            escaped = escape(char)
            if len(current) + len(escaped) > SECTION_LIMIT:
                cut = current.rfind("\n")
                head, current = (current[: cut + 1], current[cut + 1 :]) if cut > 0 else (current, "")
                pieces.append(head)
            current += escaped
    if current.strip():
        pieces.append(current)
    return [piece.strip() or "\u200b" for piece in pieces]
