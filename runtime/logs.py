"""Structured logging: JSON lines or readable text, with job/clip/request ids bound per context.

``bind(job_id=..., clip_id=...)`` puts ids into a :mod:`contextvars` context; every record logged
inside it (in this thread or task) carries them. ``configure_logging`` installs one root handler
whose filter copies the bound ids onto each record, so both formats show them.
"""

from __future__ import annotations

import contextlib
import contextvars
import json as jsonlib
import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

from runtime.config import Settings

CONTEXT_FIELDS = ("request_id", "task_name", "task_id", "job_id", "recording_id", "clip_id")
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("liveslice_log_context", default={})  # noqa: B039
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_HANDLER_MARK = "_liveslice_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s"


def current_context() -> dict[str, str]:
    """The ids bound in this context (a copy)."""
    return dict(_context.get())


def bind_context(**fields: object) -> contextvars.Token[dict[str, str]]:
    """Add ``fields`` (``None`` values skipped) to the context; undo with :func:`reset_context`."""
    merged = {**_context.get(), **{key: str(value) for key, value in fields.items() if value is not None}}
    return _context.set(merged)


def reset_context(token: contextvars.Token[dict[str, str]]) -> None:
    _context.reset(token)


@contextlib.contextmanager
def bind(**fields: object) -> Iterator[dict[str, str]]:
    """Bind ids (``job_id``, ``clip_id``, ``recording_id``, ``task_id`` ...) for the records logged inside."""
    token = bind_context(**fields)
    try:
        yield current_context()
    finally:
        reset_context(token)


class ContextFilter(logging.Filter):
    """Copies the bound ids onto each record (without overwriting ``extra=`` fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, the bound ids, ``extra=`` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
        }
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual one-line format, with the bound ids appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS if hasattr(record, key)]
        if not fields:
            return line
        head, sep, tail = line.partition("\n")  # keep a traceback below the context
        return f"{head} [{' '.join(fields)}]{sep}{tail}"


def configure_logging(
    settings: Settings, *, json: bool | None = None, level: int | str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Install the root handler (JSON if ``json`` or ``LIVESLICE_LOG_FORMAT=json``); safe to call again.

    Replaces an earlier liveslice handler and plain stream handlers (``basicConfig``'s), leaving others
    (pytest's capture, files a user added) alone.
    """
    use_json = settings.log_format == "json" if json is None else json
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(ContextFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    if level is None:  # `liveslice -v` (DEBUG already on the root logger) wins over the setting
        level = logging.DEBUG if root.level == logging.DEBUG else settings.log_level
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in SECRET_URL_LOGGERS:  # they log request URLs, and a channel's URL holds its key or token
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


#: Libraries whose INFO/DEBUG lines carry full request URLs (a WeCom robot key, a Telegram bot token).
SECRET_URL_LOGGERS = ("httpx", "httpcore")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


class RequestIdMiddleware:
    """ASGI middleware: binds ``request_id`` (a sane ``X-Request-ID``, else a new one) and echoes it back."""

    header = b"x-request-id"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(self.header, b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

        async def send_with_id(message: Any) -> None:
            if message.get("type") == "http.response.start":
                message["headers"] = [*message.get("headers", []), (self.header, request_id.encode())]
            await send(message)

        with bind(request_id=request_id):
            await self.app(scope, receive, send_with_id)
