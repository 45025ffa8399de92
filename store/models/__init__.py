"""SQLAlchemy 2 models, one module per aggregate. The database is the source of truth for recordings and jobs."""

from store.models.base import Base, Money, UTCDateTime, new_id, utcnow
from store.models.catalog import Product
from store.models.clips import Clip, ClipVariant, ShareLink
from store.models.distribution import CaptionTemplate, ChannelMedia, ChannelTarget, Publication
from store.models.highlights import Analysis, HighlightRow
from store.models.jobs import Job
from store.models.leaders import ApiKey, Leader
from store.models.ledger import CommissionRate, LedgerEntry, PayoutBatch, WeightPreset
from store.models.recordings import (
    ChatEvent,
    Recording,
    SideDataImport,
    StreamOrder,
    TimelineSegment,
    TranscriptCue,
    Upload,
)
from store.models.sales import Attribution, Click, CustomerBinding, Sale, SaleEvent, SaleLine, WebhookReceipt

__all__ = [
    "Analysis",
    "ApiKey",
    "Attribution",
    "Base",
    "CaptionTemplate",
    "ChannelMedia",
    "ChannelTarget",
    "ChatEvent",
    "Click",
    "Clip",
    "ClipVariant",
    "CommissionRate",
    "CustomerBinding",
    "HighlightRow",
    "Job",
    "Leader",
    "LedgerEntry",
    "Money",
    "PayoutBatch",
    "Product",
    "Publication",
    "Recording",
    "Sale",
    "SaleEvent",
    "SaleLine",
    "ShareLink",
    "SideDataImport",
    "StreamOrder",
    "TimelineSegment",
    "TranscriptCue",
    "UTCDateTime",
    "Upload",
    "WebhookReceipt",
    "WeightPreset",
    "new_id",
    "utcnow",
]
