"""Stand-in for a Standard Webhooks receiver: verifies ``webhook-id``/``-timestamp``/``-signature`` (±5 min),
dedupes on ``webhook-id`` as receivers should, and answers 204."""

from __future__ import annotations

from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from liveslice.standins.base import Received, Reply, StandIn, json_reply

REQUIRED = ("type", "publication_id", "clip", "caption", "share_url", "video", "cover", "poster")


class WebhookStandIn(StandIn):
    name = "webhook"
    path = "/hooks/liveslice"

    def __init__(self, *, secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret
        self.seen_ids: set[str] = set()

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != self.path:
            return json_reply({"error": "not found"}, 404)
        try:
            body = Webhook(self.secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            return json_reply({"error": f"signature: {exc}"}, 401)
        missing = [key for key in REQUIRED if key not in body]
        if missing:
            return json_reply({"error": f"missing {missing}"}, 400)
        message_id = request.headers["webhook-id"]
        if message_id in self.seen_ids:
            return 204, {}, b""  # a redelivery: acknowledged, not acted on twice
        reply = self.gate(
            "receiver",
            {"id": message_id, **body},
            throttled=lambda seconds: json_reply({"error": "slow down"}, 429, {"retry-after": f"{seconds:g}"}),
        )
        if reply is not None:
            return reply
        self.seen_ids.add(message_id)
        return 204, {}, b""
