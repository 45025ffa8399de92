"""liveslice side data: parse catalog, timeline, chat, orders and transcript files.

Pure domain code: bytes in, typed records out. Imports are all or nothing; every
problem is reported as ``file:line: field: problem`` in :class:`SideDataImportError`.
"""

from sidedata.catalog import CatalogResult, parse_catalog
from sidedata.chat import ChatResult, parse_chat
from sidedata.encoding import decode_text
from sidedata.errors import (
    EncodingError,
    ImportProblem,
    SideDataError,
    SideDataImportError,
    UnsupportedFormatError,
)
from sidedata.facade import KINDS, SideDataResult, parse_side_data
from sidedata.money import parse_money
from sidedata.orders import OrdersResult, parse_orders
from sidedata.records import (
    CHAT_KINDS,
    ChatEvent,
    Product,
    StreamOrder,
    TimelineSegment,
    TranscriptCue,
)
from sidedata.tables import Row, Table, read_table
from sidedata.timeline import TimelineResult, parse_timeline
from sidedata.timeparse import TimeContext, WallClockTimeError, parse_offset
from sidedata.transcript import TranscriptResult, parse_transcript

__all__ = [
    "CHAT_KINDS",
    "KINDS",
    "CatalogResult",
    "ChatEvent",
    "ChatResult",
    "EncodingError",
    "ImportProblem",
    "OrdersResult",
    "Product",
    "Row",
    "SideDataError",
    "SideDataImportError",
    "SideDataResult",
    "StreamOrder",
    "Table",
    "TimeContext",
    "TimelineResult",
    "TimelineSegment",
    "TranscriptCue",
    "TranscriptResult",
    "UnsupportedFormatError",
    "WallClockTimeError",
    "decode_text",
    "parse_catalog",
    "parse_chat",
    "parse_money",
    "parse_offset",
    "parse_orders",
    "parse_side_data",
    "parse_timeline",
    "parse_transcript",
    "read_table",
]
