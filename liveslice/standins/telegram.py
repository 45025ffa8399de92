"""Stand-in for the Telegram Bot API: ``/bot<token>/sendVideo`` and ``/bot<token>/sendMessage``.

Checks what Telegram checks: the token (401), the chat (400 chat not found), the caption (≤1024, counted
in UTF-16 code units) and text (≤4096), the video as a multipart ``video`` part (≤50 MB, an MP4) or a
``file_id`` this bot was given earlier (per bot, usable in any chat), and answers in Telegram's own
``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}`` shape. Rate windows apply
per chat (Telegram: about 20 messages per minute per group).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn, json_reply
from liveslice.standins.forms import BadForm, Form, media_type, read_form

UPLOAD_LIMIT = 50 * 1000 * 1000
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
METHODS = ("sendVideo", "sendMessage", "getMe")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def error(code: int, description: str, headers: Mapping[str, str] | None = None, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json_reply(body, code, headers)


def throttled(seconds: float) -> Reply:
    wait = max(1, round(seconds))  # Telegram's retry_after is whole seconds
    return error(429, f"Too Many Requests: retry after {wait}", {"retry-after": str(wait)}, retry_after=wait)


class TelegramStandIn(StandIn):
    name = "telegram"

    def __init__(
        self, *, token: str | None = None, chats: Mapping[str, Mapping[str, Any]] | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.token = token or f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"
        #: chat_id -> the chat object Telegram returns (``type``, ``title``, optional ``username``)
        self.chats: dict[str, dict[str, Any]] = {
            k: {"id": _chat_id(k), **v}
            for k, v in (chats or {"-1001": {"type": "supergroup", "title": "Group"}}).items()
        }
        self.file_ids: dict[str, tuple[str, int]] = {}  # file_id -> (token it belongs to, size)
        self.uploads = 0
        self.message_ids = itertools.count(1)
        self.ids_lock = threading.Lock()

    def handle(self, request: Received) -> Reply:
        token, _, method = request.path.removeprefix("/bot").partition("/")
        if not request.path.startswith("/bot") or method not in METHODS:
            return error(404, "Not Found")
        if token != self.token:
            return error(401, "Unauthorized")
        if method == "getMe":
            return json_reply({"ok": True, "result": {"id": int(token.split(":")[0]), "is_bot": True}})
        try:
            form = self.read(request)
        except BadForm as exc:
            return error(400, f"Bad Request: {exc}")
        chat = self.chats.get(form.fields.get("chat_id", ""))
        if chat is None:
            return error(400, "Bad Request: chat not found")
        if method == "sendMessage":
            return self.send_message(chat, form)
        return self.send_video(chat, form)

    def read(self, request: Received) -> Form:
        """The parameters, sent as a query, JSON, a URL-encoded form or multipart (all four are allowed)."""
        if request.method not in ("GET", "POST"):
            raise BadForm("method not allowed")
        if not request.body:
            return Form(fields=dict(request.query))
        if media_type(request) == "application/json":
            try:
                body = json.loads(request.body)
            except ValueError:
                raise BadForm("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise BadForm("can't parse JSON object")
            return Form(fields={k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        return read_form(request)

    def send_message(self, chat: dict[str, Any], form: Form) -> Reply:
        text = form.fields.get("text", "")
        if not text.strip():
            return error(400, "Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            return error(400, "Bad Request: message is too long")
        return self.deliver(chat, {"method": "sendMessage", "chat_id": str(chat["id"]), "text": text}, {"text": text})

    def send_video(self, chat: dict[str, Any], form: Form) -> Reply:
        caption = form.fields.get("caption", "")
        if utf16_len(caption) > CAPTION_LIMIT:
            return error(400, "Bad Request: message caption is too long")
        if form.fields.get("parse_mode") not in (None, "", "HTML", "Markdown", "MarkdownV2"):
            return error(400, "Bad Request: unsupported parse_mode")
        upload = form.files.get("video")
        if upload is not None:
            if len(upload.data) > UPLOAD_LIMIT:
                return error(413, "Request Entity Too Large")
            if upload.data[4:8] != b"ftyp":
                return error(400, "Bad Request: wrong type of the web page content")  # not an MP4
            file_id, size, uploaded = f"BAAC{secrets.token_urlsafe(24)}", len(upload.data), True
        else:
            file_id = form.fields.get("video", "")
            if file_id.startswith("attach://"):
                return error(400, "Bad Request: file must be non-empty")
            known = self.file_ids.get(file_id)
            if known is None or known[0] != self.token:
                return error(400, "Bad Request: wrong file identifier/HTTP URL specified")
            size, uploaded = known[1], False
        post = {
            "method": "sendVideo",
            "chat_id": str(chat["id"]),
            "caption": caption,
            "file_id": file_id,
            "uploaded": uploaded,
            "bytes": size,
        }
        video = {"file_id": file_id, "file_unique_id": file_id[-12:], "file_size": size, "mime_type": "video/mp4"}
        reply = self.deliver(chat, post, {"caption": caption, "video": video} if caption else {"video": video})
        if reply[0] == 200:
            with self.lock:
                self.file_ids[file_id] = (self.token, size)
                self.uploads += uploaded
        return reply

    def deliver(self, chat: dict[str, Any], post: dict[str, Any], content: dict[str, Any]) -> Reply:
        """Faults and the per-chat rate limit, then the sent message."""
        refused = self.gate(
            f"{self.token}|{chat['id']}",
            post,
            throttled=throttled,
            error=lambda status: error(status, "Internal Server Error" if status == 500 else "Bad Gateway"),
        )
        if refused is not None:
            return refused
        with self.ids_lock:
            message_id = next(self.message_ids)
        post["message_id"] = message_id
        result = {"message_id": message_id, "date": int(time.time()), "chat": chat, **content}
        return json_reply({"ok": True, "result": result})


def _chat_id(key: str) -> int | str:
    return int(key) if key.lstrip("-").isdigit() else key
