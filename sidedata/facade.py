"""One entry point that dispatches to the parser for a kind of side data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

from sidedata.catalog import CatalogResult, parse_catalog
from sidedata.chat import ChatResult, parse_chat
from sidedata.errors import UnsupportedFormatError
from sidedata.orders import OrdersResult, parse_orders
from sidedata.timeline import TimelineResult, parse_timeline
from sidedata.transcript import TranscriptResult, parse_transcript

SideDataResult = CatalogResult | TimelineResult | ChatResult | OrdersResult | TranscriptResult

PARSERS: dict[str, Callable[..., SideDataResult]] = {
    "catalog": parse_catalog,
    "timeline": parse_timeline,
    "chat": parse_chat,
    "orders": parse_orders,
    "transcript": parse_transcript,
}
KINDS: tuple[str, ...] = tuple(PARSERS)


@overload
def parse_side_data(kind: Literal["catalog"], data: bytes, filename: str, **kwargs: Any) -> CatalogResult: ...
@overload
def parse_side_data(kind: Literal["timeline"], data: bytes, filename: str, **kwargs: Any) -> TimelineResult: ...
@overload
def parse_side_data(kind: Literal["chat"], data: bytes, filename: str, **kwargs: Any) -> ChatResult: ...
@overload
def parse_side_data(kind: Literal["orders"], data: bytes, filename: str, **kwargs: Any) -> OrdersResult: ...
@overload
def parse_side_data(kind: Literal["transcript"], data: bytes, filename: str, **kwargs: Any) -> TranscriptResult: ...
@overload
def parse_side_data(kind: str, data: bytes, filename: str, **kwargs: Any) -> SideDataResult: ...


def parse_side_data(kind: str, data: bytes, filename: str, **kwargs: Any) -> SideDataResult:
    """Parse ``data`` as side data of ``kind`` (catalog, timeline, chat, orders, transcript).

    ``kwargs`` go to the kind's parser (e.g. ``ctx=``, ``known_skus=``, ``image_roots=``).
    Raises :class:`UnsupportedFormatError` for an unknown kind.
    """
    parser = PARSERS.get(kind)
    if parser is None:
        raise UnsupportedFormatError(f"unknown side-data kind {kind!r} (expected one of {', '.join(KINDS)})")
    return parser(data, filename, **kwargs)
