"""Stand-in for WeCom group robots: ``/cgi-bin/webhook/send`` and ``/cgi-bin/webhook/upload_media``.

It checks what WeCom documents: a known ``key``; ``msgtype`` text (content ≤2048 bytes), markdown
(≤4096 bytes), image (base64 of ≤2 MB whose md5 matches), news (1-8 articles with title and url) or file
(a ``media_id`` this robot uploaded less than 3 days ago); uploads as multipart field ``media`` of 6 bytes
to 20 MB with ``type=file`` or ``voice``. It answers as WeCom does, HTTP 200 with ``{"errcode", "errmsg"}``:
93000 bad key, 40058 too long, 40007 unknown media_id, 40009 bad image, 40035 a missing or bad field
(the last three codes are this stand-in's choice among WeCom's), 45009 over the rate (20/minute per robot
by default).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from email.message import Message
from email.parser import BytesParser
from typing import Any

from liveslice.standins.base import Received, Reply, StandIn, json_reply

SEND, UPLOAD = "/cgi-bin/webhook/send", "/cgi-bin/webhook/upload_media"
LIMITS = {"text": 2048, "markdown": 4096}
MAX_IMAGE, MIN_FILE, MAX_FILE = 2 * 1024 * 1024, 6, 20 * 1024 * 1024
MEDIA_TTL = 3 * 24 * 3600.0


def _error(code: int, message: str) -> Reply:
    return json_reply({"errcode": code, "errmsg": message})


class _Bad(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class WeComStandIn(StandIn):
    name = "wecom"

    def __init__(
        self,
        *,
        key: str | None = None,
        rates: tuple[tuple[int, float], ...] = ((20, 60.0),),
        media_ttl: float = MEDIA_TTL,
        **kwargs: Any,
    ) -> None:
        super().__init__(rates=rates, **kwargs)
        self.key = key or secrets.token_hex(16)
        self.media_ttl = media_ttl
        #: media_id -> what was uploaded (robot key, filename, size, sha256, when)
        self.uploads: dict[str, dict[str, Any]] = {}

    @property
    def webhook_url(self) -> str:
        """The robot's address, as WeCom shows it."""
        return f"{self.base_url}{SEND}?key={self.key}"

    def target_config(self) -> dict[str, str]:
        """A ``wecom`` target's config pointing here."""
        return {"webhook_url": self.webhook_url}

    def expire_media(self) -> None:
        """Forget every upload, as WeCom does after 3 days."""
        with self.lock:
            self.uploads.clear()

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path not in (SEND, UPLOAD):
            return json_reply({"errcode": 404, "errmsg": "not found"}, 404)
        key = request.query.get("key", "")
        if key != self.key:
            return _error(93000, "invalid webhook url, hint: [stand-in]")
        try:
            if request.path == UPLOAD:
                return self._upload(key, request)
            message = self._message(key, request)
        except _Bad as bad:
            return _error(bad.code, str(bad))
        reply = self.gate(key, {"robot": key, **message}, throttled=lambda _: _error(45009, "api freq out of limit"))
        return reply or _error(0, "ok")

    # --- send ---------------------------------------------------------------------------------------
    def _message(self, key: str, request: Received) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise _Bad(40035, "invalid json") from None
        if not isinstance(body, dict):
            raise _Bad(40035, "the body is not a JSON object")
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        if not isinstance(part, dict):
            raise _Bad(40035, f"missing {kind or 'msgtype'} object")
        if kind in LIMITS:
            content = _text(part, "content", kind)
            if len(content.encode("utf-8")) > LIMITS[kind]:
                raise _Bad(40058, f"{kind}.content exceed max length {LIMITS[kind]}")
        elif kind == "image":
            self._image(part)
        elif kind == "news":
            _news(part)
        elif kind == "file":
            upload = self._media(key, _text(part, "media_id", kind))
            return {**body, "upload": upload}
        else:
            raise _Bad(40008, f"invalid message type {kind!r}")
        return dict(body)

    def _image(self, part: dict[str, Any]) -> None:
        try:
            data = base64.b64decode(_text(part, "base64", "image"), validate=True)
        except (binascii.Error, ValueError):
            raise _Bad(40009, "image.base64 is not base64") from None
        if not data or len(data) > MAX_IMAGE:
            raise _Bad(40009, f"invalid image size {len(data)} (at most {MAX_IMAGE} bytes)")
        if hashlib.md5(data).hexdigest() != _text(part, "md5", "image").lower():
            raise _Bad(40009, "image.md5 does not match the image")

    def _media(self, key: str, media_id: str) -> dict[str, Any]:
        with self.lock:
            upload = self.uploads.get(media_id)
        if upload is None or upload["robot"] != key or time.time() - upload["at"] > self.media_ttl:
            raise _Bad(40007, "invalid media_id")
        return upload

    # --- upload_media -------------------------------------------------------------------------------
    def _upload(self, key: str, request: Received) -> Reply:
        kind = request.query.get("type")
        if kind not in ("file", "voice"):
            raise _Bad(40035, "type must be file or voice")
        media = _multipart_field(request, "media")
        if media is None:
            raise _Bad(40035, "missing multipart field media")
        data = media.get_payload(decode=True)
        assert isinstance(data, bytes)
        if not MIN_FILE <= len(data) <= MAX_FILE:
            raise _Bad(40006, f"invalid media size {len(data)} (6 bytes to 20 MB)")
        media_id, now = secrets.token_hex(24), time.time()
        upload: dict[str, Any] = {
            "robot": key,
            "filename": media.get_filename() or "",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "at": now,
        }
        with self.lock:
            self.uploads[media_id] = upload
        created = str(int(now))
        return json_reply({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": created})


def _text(part: dict[str, Any], name: str, kind: str) -> str:
    value = part.get(name)
    if not isinstance(value, str) or not value:
        raise _Bad(40035, f"{kind}.{name} is required")
    return value


def _news(part: dict[str, Any]) -> None:
    articles = part.get("articles")
    if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
        raise _Bad(40035, "news.articles must hold 1 to 8 articles")
    for article in articles:
        if not isinstance(article, dict):
            raise _Bad(40035, "news.articles[] must be objects")
        _text(article, "title", "news.articles[]")
        url = _text(article, "url", "news.articles[]")
        if not url.startswith(("http://", "https://")):
            raise _Bad(40035, "news.articles[].url must be an http(s) URL")


def _multipart_field(request: Received, name: str) -> Message | None:
    """The part named ``name`` of a multipart/form-data body, if it has one."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    if not message.is_multipart():
        return None
    for part in message.get_payload():
        assert isinstance(part, Message)
        if part.get_param("name", header="content-disposition") == name and part.get_filename() is not None:
            return part
    return None
