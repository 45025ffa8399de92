"""Channel adapters, one module per channel, behind :class:`~distribution.channels.base.ChannelAdapter`."""

from distribution.channels.base import (
    ChannelAdapter,
    Delivered,
    HttpRequest,
    HttpResponse,
    MediaFile,
    Post,
    channel_types,
    get_adapter,
    registry,
)

__all__ = [
    "ChannelAdapter",
    "Delivered",
    "HttpRequest",
    "HttpResponse",
    "MediaFile",
    "Post",
    "channel_types",
    "get_adapter",
    "registry",
]
