"""Channel adapters: one small class per channel behind :class:`ChannelAdapter`, and a registry.

An adapter is sans-I/O. :meth:`ChannelAdapter.exchange` is a generator: it yields each
:class:`HttpRequest` the post needs (an upload, then the message), is sent back the
:class:`HttpResponse`, raises a :class:`~distribution.errors.DeliveryError` when the channel refuses,
and returns a :class:`Delivered`. ``services.publishing`` does the sending, the rate limiting and the
bookkeeping; tests drive adapters against a local stand-in of each service.

A request marked ``posts=True`` is the one that makes the post visible: if it times out after it left,
the outcome is unknown and nothing may send it again without a person's say (never double-post).
"""

from __future__ import annotations

import importlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from distribution.errors import (
    ChannelRejected,
    ChannelThrottled,
    ChannelUnavailable,
    InvalidChannelConfig,
    UnknownChannel,
)

#: How a limit counts: UTF-8 bytes, characters (code points), or UTF-16 code units (Telegram, where an emoji
#: outside the BMP counts twice; counting them is never less than counting code points, so it is the safe side).
Unit = Literal["bytes", "chars", "utf16"]
#: Modules that define the built-in adapters, imported when the registry is first used.
ADAPTER_MODULES = (
    "distribution.channels.webhook",
    "distribution.channels.wecom",
    "distribution.channels.feishu",
    "distribution.channels.dingtalk",
    "distribution.channels.telegram",
    "distribution.channels.slack",
    "distribution.channels.discord",
    "distribution.channels.export",
)


@dataclass(frozen=True)
class MediaFile:
    """A file a post may carry: a signed public ``url`` (expires) and, for uploads, a local ``path``."""

    url: str
    name: str
    size: int
    content_type: str
    path: Path | None = None
    #: What identifies the content (storage key and size): remembered upload ids are keyed on it.
    key: str = ""


@dataclass(frozen=True)
class Post:
    """Everything one publication sends. ``caption`` has been rendered and fits the channel's limit."""

    publication_id: str
    idempotency_key: str
    clip_id: str
    title: str
    caption: str
    hashtags: tuple[str, ...]
    share_url: str
    video: MediaFile | None = None
    cover: MediaFile | None = None
    poster: MediaFile | None = None
    leader_id: str | None = None
    leader_name: str | None = None
    product: Mapping[str, Any] = field(default_factory=dict)
    #: Upload ids remembered from earlier posts of the same file on the same account (Telegram's
    #: ``file_id``, WeCom's ``media_id``), keyed by :meth:`ChannelAdapter.memory_key`.
    remembered: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadPart:
    """One file part of a multipart request: read from ``path`` (streamed) or given as ``content``."""

    field: str
    filename: str
    content_type: str
    path: Path | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class HttpRequest:
    """One request an adapter wants sent. Exactly one of ``json``, ``form`` + ``files`` or none is set."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    files: Sequence[UploadPart] = ()
    posts: bool = True
    timeout: float = 30.0
    #: What the request is, for logs and errors ("upload_media", "send"); never the URL (it may hold a key).
    label: str = "send"


@dataclass(frozen=True)
class HttpResponse:
    """What came back."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is a :class:`ChannelUnavailable` (a proxy's error page)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ChannelUnavailable(
                f"the channel answered HTTP {self.status} with a body that is not JSON", code="bad_response"
            ) from None


@dataclass(frozen=True)
class Delivered:
    """A post that went out: the channel's id or URL for it, what to remember, and what was sent."""

    external_id: str | None = None
    external_url: str | None = None
    #: Upload ids to remember for later posts of the same file (see :attr:`Post.remembered`).
    remember: Mapping[str, str] = field(default_factory=dict)
    #: How the clip went: "file", "video", "card", "link", "package"...
    form: str = "message"
    #: For the export channel: the package to write (name -> file or text), done by the I/O layer.
    package: ExportPackage | None = None


@dataclass(frozen=True)
class ExportPackage:
    """A ready-to-upload folder: files copied from storage and text files written as given."""

    folder: str
    files: Mapping[str, MediaFile]
    texts: Mapping[str, str]


@dataclass(frozen=True)
class ConfigField:
    """One field of a target's configuration. ``secret`` fields are encrypted at rest and never shown."""

    name: str
    description: str
    required: bool = True
    secret: bool = False


@dataclass(frozen=True)
class CaptionLimit:
    """The most a caption may hold, in the channel's own ``unit``."""

    limit: int
    unit: Unit

    def measure(self, text: str) -> int:
        if self.unit == "bytes":
            return len(text.encode("utf-8"))
        if self.unit == "utf16":
            return len(text.encode("utf-16-le")) // 2
        return len(text)

    def fits(self, text: str) -> bool:
        return self.measure(text) <= self.limit


Exchange = Generator[HttpRequest, HttpResponse, Delivered]


class ChannelAdapter(ABC):
    """One channel. Subclasses set the class attributes and implement :meth:`exchange`.

    ``config`` holds every field (secrets decrypted) and is checked by :meth:`check_config` first.
    """

    type: ClassVar[str]
    label: ClassVar[str]
    #: Where a user finds what the config needs (shown in the UI and the README).
    help: ClassVar[str] = ""
    fields: ClassVar[tuple[ConfigField, ...]] = ()
    #: The service's documented rates, as ``limits`` strings ("20/minute"); all apply at once.
    rates: ClassVar[tuple[str, ...]] = ()
    caption_limit: ClassVar[CaptionLimit] = CaptionLimit(4096, "chars")
    #: The default caption template (Jinja2, sandboxed); see ``distribution.captions``.
    default_template: ClassVar[str] = "{{ title }}\n{{ caption }}\n{{ hashtags }}\n{{ share_url }}"
    #: Hosts the service's URLs live on; others are refused unless configured (LIVESLICE_CHANNEL_HOSTS).
    official_hosts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, str], *, clock: Callable[[], float] = time.time) -> None:
        self.config = dict(config)
        self.clock = clock  # seconds since the epoch, for signatures (tests pass a fixed one)

    @classmethod
    def check_config(cls, config: Mapping[str, Any], *, extra_hosts: Sequence[str] = ()) -> dict[str, str]:
        """The config's known fields, trimmed; :class:`InvalidChannelConfig` names what is wrong."""
        known = {f.name for f in cls.fields}
        unknown = sorted(set(config) - known)
        if unknown:
            raise InvalidChannelConfig(
                f"{cls.type}: unknown config field(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(known)) or 'none'}"
            )
        clean: dict[str, str] = {}
        for spec in cls.fields:
            value = config.get(spec.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if spec.required:
                    raise InvalidChannelConfig(f"{cls.type}: config.{spec.name} is required ({spec.description})")
                continue
            if not isinstance(value, str | int):
                raise InvalidChannelConfig(f"{cls.type}: config.{spec.name} must be a string")
            clean[spec.name] = str(value).strip()
        cls.validate(clean, extra_hosts=extra_hosts)
        return clean

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        """Channel-specific checks on a trimmed config (URLs, ids); raise :class:`InvalidChannelConfig`."""
        return None  # no checks beyond the required fields by default

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in cls.fields if f.secret)

    def account_key(self) -> str:
        """What the channel's rate limit applies to (a robot, a bot in a chat); secret, so hashed by callers."""
        return "|".join(f"{k}={v}" for k, v in sorted(self.config.items()))

    def memory_scope(self) -> str:
        """Where an upload id is valid (secret, so hashed by callers): by default the account; a channel
        whose ids work across chats (a Telegram bot's ``file_id``) says so."""
        return self.account_key()

    def memory_key(self, media: MediaFile) -> str:
        """The key an upload id for ``media`` is remembered under (per memory scope, per file content)."""
        return f"{self.type}:{media.key}:{media.size}"

    @abstractmethod
    def exchange(self, post: Post) -> Exchange:
        """Yield the requests that publish ``post``; return what was delivered."""

    def describe(self) -> dict[str, str]:
        """The config with secrets hidden, safe for an API answer or a page."""
        secret = set(self.secret_fields())
        return {k: (mask(v) if k in secret else v) for k, v in self.config.items()}


def mask(value: str) -> str:
    """A secret shown as its length only: never any of its characters."""
    return f"•••• ({len(value)} chars)" if value else ""


def check_url(channel: str, name: str, url: str, *, hosts: Sequence[str], extra_hosts: Sequence[str]) -> str:
    """``url`` as an https URL on one of ``hosts`` (or, for stand-ins and private gateways, ``extra_hosts``,
    where http is allowed too)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host and host in {h.lower() for h in extra_hosts} and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https" or not host:
        raise InvalidChannelConfig(f"{channel}: config.{name} must be an https:// URL")
    if hosts and host not in hosts:
        raise InvalidChannelConfig(
            f"{channel}: config.{name} must be on {' or '.join(hosts)} "
            "(to use another host, add it to LIVESLICE_CHANNEL_HOSTS)"
        )
    return url


def retry_after(response: HttpResponse) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if there is one."""
    value = response.header("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def check_status(response: HttpResponse, what: str, *, quote_body: bool = True) -> None:
    """Raise the delivery error an HTTP status means: 429 throttled, 5xx unavailable, other 4xx rejected
    (quoting the start of the body, unless the receiver is anyone's server: ``quote_body=False``)."""
    if response.status == 429:
        raise ChannelThrottled(f"{what}: rate limited (HTTP 429)", retry_after=retry_after(response))
    if response.status >= 500:
        raise ChannelUnavailable(f"{what}: HTTP {response.status}", code="server_error")
    if response.status >= 400:
        raise ChannelRejected(
            f"{what}: HTTP {response.status}" + (f": {_snippet(response.body)}" if quote_body else ""),
            code=f"http_{response.status}",
        )


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


_REGISTRY: dict[str, type[ChannelAdapter]] = {}
_loaded = False


def register(cls: type[ChannelAdapter]) -> type[ChannelAdapter]:
    """Class decorator: make ``cls`` the adapter for ``cls.type``."""
    _REGISTRY[cls.type] = cls
    return cls


def registry() -> dict[str, type[ChannelAdapter]]:
    """Every adapter by channel type (the built-in modules are imported on first use)."""
    global _loaded
    if not _loaded:
        for module in ADAPTER_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(_REGISTRY)


def get_adapter(channel: str) -> type[ChannelAdapter]:
    """The adapter class for ``channel``; :class:`UnknownChannel` lists the known ones."""
    adapters = registry()
    try:
        return adapters[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel type {channel!r}; known: {', '.join(sorted(adapters))}") from None


def channel_types() -> list[str]:
    return sorted(registry())
