"""Generic signed webhook (Standard Webhooks): a JSON body with the clip, leader, caption and media URLs.

Headers ``webhook-id`` (the publication's idempotency key, so a receiver that dedupes on it never acts
twice), ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``
with the secret after ``whsec_``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from distribution.channels.base import (
    CaptionLimit,
    ChannelAdapter,
    ConfigField,
    Delivered,
    Exchange,
    HttpRequest,
    MediaFile,
    Post,
    check_status,
    check_url,
    register,
)
from distribution.errors import InvalidChannelConfig

EVENT = "clip.published"


@register
class WebhookChannel(ChannelAdapter):
    type = "webhook"
    label = "Signed webhook"
    help = (
        "Any HTTPS endpoint you run. Give its URL and a Standard Webhooks secret (whsec_ followed by base64; "
        "make one with `liveslice targets secret`). Verify with any Standard Webhooks library."
    )
    fields = (
        ConfigField("url", "the HTTPS endpoint that receives the JSON"),
        ConfigField("secret", "a Standard Webhooks signing secret, whsec_<base64>", secret=True),
    )
    rates = ("60/minute",)
    caption_limit = CaptionLimit(10_000, "chars")

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        check_url(cls.type, "url", config["url"], hosts=(), extra_hosts=extra_hosts)
        try:
            Webhook(config["secret"])
        except (ValueError, RuntimeError, EmptyWebhookSecretError) as exc:  # bad base64 (binascii.Error), empty secret
            raise InvalidChannelConfig(
                f"webhook: config.secret is not a valid whsec_<base64> secret ({type(exc).__name__})"
            ) from None

    def account_key(self) -> str:
        return self.config["url"]

    def body(self, post: Post) -> dict[str, Any]:
        """The JSON the receiver gets."""
        return {
            "type": EVENT,
            "publication_id": post.publication_id,
            "clip": {"id": post.clip_id, "title": post.title, "product": dict(post.product)},
            "leader": {"id": post.leader_id, "name": post.leader_name} if post.leader_id else None,
            "caption": post.caption,
            "hashtags": list(post.hashtags),
            "share_url": post.share_url,
            "video": _media(post.video),
            "cover": _media(post.cover),
            "poster": _media(post.poster),
        }

    def exchange(self, post: Post) -> Exchange:
        payload = json.dumps(self.body(post), ensure_ascii=False, separators=(",", ":")).encode()
        when = datetime.fromtimestamp(int(self.clock()), UTC)
        signature = Webhook(self.config["secret"]).sign(post.idempotency_key, when, payload)
        response = yield HttpRequest(
            "POST",
            self.config["url"],
            headers={
                "content-type": "application/json",
                "webhook-id": post.idempotency_key,
                "webhook-timestamp": str(int(when.timestamp())),
                "webhook-signature": signature,
            },
            content=payload,
        )
        check_status(response, "webhook", quote_body=False)  # any server: keep its answers out of our records
        external = response.header("location")
        return Delivered(external_id=post.idempotency_key, external_url=external, form="webhook")


def _media(media: MediaFile | None) -> dict[str, Any] | None:
    if media is None:
        return None
    return {"url": media.url, "name": media.name, "size": media.size, "content_type": media.content_type}
