"""Stand-in for a Discord webhook: ``POST /api/webhooks/<id>/<token>[?wait=true]``.

Takes JSON, or multipart with ``payload_json`` and ``files[n]`` parts whose ``attachments`` entries must
name each uploaded ``n`` (and nothing else); refuses a file over 10 MiB with 413 (code 40005), ``content``
over 2000 characters, more than 10 embeds or over-long embed fields with 400 ``Invalid Form Body``
(code 50035, Discord's nested ``errors``), an empty message (50006), a wrong token (401, 50027) and an
unknown webhook (404, 10015). With ``wait=true`` it answers the message (``id``, ``channel_id``), else 204.
Throttling answers ``{"message", "retry_after", "global"}`` with ``Retry-After`` (per webhook).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import secrets
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn, json_reply
from liveslice.standins.forms import BadForm, media_type, read_form

UPLOAD_LIMIT = 10 * 1024 * 1024
PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d+)/([^/]+)/?$")


class Invalid(ValueError):
    """A field Discord would refuse: ``field`` and the message it gives."""

    def __init__(self, field: str, message: str, code: str = "BASE_TYPE_MAX_LENGTH") -> None:
        super().__init__(message)
        self.field, self.code = field, code


def form_error(exc: Invalid) -> Reply:
    errors: dict[str, Any] = {"_errors": [{"code": exc.code, "message": str(exc)}]}
    for key in reversed(exc.field.split(".")):
        errors = {key: errors}
    return json_reply({"code": 50035, "errors": errors, "message": "Invalid Form Body"}, 400)


class DiscordStandIn(StandIn):
    name = "discord"

    def __init__(self, *, upload_limit: int = UPLOAD_LIMIT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.upload_limit = upload_limit  # Discord's default; boosted servers allow more
        self.webhook_id = str(10**17 + secrets.randbelow(10**17))
        self.webhook_token = secrets.token_urlsafe(48)
        self.channel_id = str(10**17 + secrets.randbelow(10**17))
        self.ids = itertools.count(int(self.webhook_id) + 1)

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/api/webhooks/{self.webhook_id}/{self.webhook_token}"

    def handle(self, request: Received) -> Reply:
        match = PATH.match(request.path)
        if request.method != "POST" or match is None:
            return json_reply({"message": "404: Not Found", "code": 0}, 404)
        if match.group(1) != self.webhook_id:
            return json_reply({"message": "Unknown Webhook", "code": 10015}, 404)
        if match.group(2) != self.webhook_token:
            return json_reply({"message": "Invalid Webhook Token", "code": 50027}, 401)
        try:
            message, files = self.read(request)
            check_message(message, files)
        except BadForm as exc:
            return json_reply({"message": f"Cannot parse the body: {exc}", "code": 50109}, 400)
        except TooLarge:
            return json_reply({"message": "Request entity too large", "code": 40005}, 413)
        except Empty:
            return json_reply({"message": "Cannot send an empty message", "code": 50006}, 400)
        except Invalid as exc:
            return form_error(exc)
        post = {**message, "files": {name: len(data) for name, data in files.items()}}
        reply = self.gate(self.webhook_id, post, throttled=throttled, error=server_error)
        if reply is not None:
            return reply
        message_id = str(next(self.ids))
        post["id"] = message_id
        if request.query.get("wait", "").lower() != "true":
            return 204, {}, b""
        attachments = [{"id": str(next(self.ids)), "filename": name, "size": len(data)} for name, data in files.items()]
        return json_reply(
            {
                "id": message_id,
                "type": 0,
                "channel_id": self.channel_id,
                "webhook_id": self.webhook_id,
                "content": message.get("content", ""),
                "embeds": message.get("embeds", []),
                "attachments": attachments,
            }
        )

    def read(self, request: Received) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The message JSON and the uploaded files (``files[n]`` part -> bytes, by attachment filename)."""
        if media_type(request) == "application/json":
            try:
                message = json.loads(request.body)
            except ValueError:
                raise BadForm("not JSON") from None
            if not isinstance(message, dict):
                raise BadForm("not a JSON object")
            return message, {}
        form = read_form(request)
        try:
            message = json.loads(form.fields.get("payload_json") or "{}")
        except ValueError:
            raise BadForm("payload_json is not JSON") from None
        if not isinstance(message, dict):
            raise BadForm("payload_json is not a JSON object")
        for name in form.fields:
            if name != "payload_json":
                message.setdefault(name, form.fields[name])
        uploads: dict[int, tuple[str, bytes]] = {}
        for name, part in form.files.items():
            index = re.fullmatch(r"files\[(\d+)\]", name)
            if index is None:
                raise Invalid(name, "Unknown file part; use files[n]", "UNKNOWN_FIELD")
            if len(part.data) > self.upload_limit:
                raise TooLarge
            uploads[int(index.group(1))] = (part.filename, part.data)
        attachments = message.get("attachments") or []
        given = {int(a["id"]) for a in attachments if isinstance(a, dict) and str(a.get("id", "")).isdigit()}
        if uploads and given != set(uploads):
            raise Invalid("attachments", "Attachment ids must match the uploaded files[n]", "ATTACHMENT_NOT_FOUND")
        names = {int(a["id"]): a.get("filename") for a in attachments if isinstance(a, dict) and "id" in a}
        return message, {str(names.get(n) or filename): data for n, (filename, data) in uploads.items()}


class TooLarge(Exception):
    """A file over the upload limit."""


class Empty(Exception):
    """Nothing to post."""


def check_message(message: dict[str, Any], files: dict[str, bytes]) -> None:
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise Invalid("content", "Must be a string", "BASE_TYPE_STRING")
    if len(content) > 2000:
        raise Invalid("content", "Must be 2000 or fewer in length.")
    embeds = message.get("embeds") or []
    if not isinstance(embeds, list) or len(embeds) > 10:
        raise Invalid("embeds", "Must be 10 or fewer in length.")
    total = 0
    for n, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            raise Invalid(f"embeds.{n}", "Must be an object", "MODEL_TYPE_CONVERT")
        for key, limit in (("title", 256), ("description", 4096)):
            value = embed.get(key) or ""
            if len(value) > limit:
                raise Invalid(f"embeds.{n}.{key}", f"Must be {limit} or fewer in length.")
            total += len(value)
        for key in ("url", "image.url", "thumbnail.url"):
            head, _, tail = key.partition(".")
            value = embed.get(head)
            url = value.get(tail) if tail and isinstance(value, dict) else (value if not tail else None)
            if url is not None and not (isinstance(url, str) and re.match(r"^(https?|attachment)://", url)):
                raise Invalid(f"embeds.{n}.{key}", "Not a well formed URL.", "URL_TYPE_INVALID_URL")
    if total > 6000:
        raise Invalid("embeds", "Embed size exceeds maximum size of 6000")
    if not content.strip() and not embeds and not files and not message.get("poll"):
        raise Empty


def throttled(seconds: float) -> Reply:
    return json_reply(
        {"message": "You are being rate limited.", "retry_after": round(seconds, 3), "global": False},
        429,
        {
            "retry-after": str(math.ceil(seconds)),
            "x-ratelimit-limit": "5",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset-after": f"{seconds:.3f}",
            "x-ratelimit-scope": "shared",
        },
    )


def server_error(status: int) -> Reply:
    return json_reply({"message": f"{status}: Internal Server Error", "code": 0}, status)
