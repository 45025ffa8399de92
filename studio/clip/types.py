"""What a clip render takes and gives: the resolved request, its targets, its outcome, its errors.

No database and no media work here; :mod:`studio.clip.produce` makes the files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sidedata.records import TranscriptCue
from studio.cards import CardContent, CardTheme
from studio.mediainfo import MediaInfo
from studio.render import Preset

ProgressCallback = Callable[[str, float], None]
Mode = Literal["accurate", "fast"]


class ClipError(Exception):
    """A clip cannot be made as asked. ``exit_code``: 2 for bad input, 1 for a failed render."""

    code = "clip_error"
    exit_code = 1


class InvalidClipRequest(ClipError):
    """Bad times, unknown SKU, preset or recording, bad leaders or share URLs (the API answers 422)."""

    code = "invalid"
    exit_code = 2


class ClipCancelled(ClipError):
    """Someone asked the render to stop."""

    code = "cancelled"


@dataclass(frozen=True)
class ProductInfo:
    """The product a clip shows, as rendered (the clip keeps these prices even if the catalog changes)."""

    sku: str
    name: str
    price: Decimal
    original_price: Decimal | None = None
    currency: str = "CNY"
    coupon: str | None = None
    buy_url: str | None = None
    image: Path | None = None  # a local file checked to be usable; URLs are never fetched here

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe: what ``Clip.product`` stores and manifests show (money as decimal strings)."""
        return {
            "sku": self.sku,
            "name": self.name,
            "price": str(self.price),
            "original_price": str(self.original_price) if self.original_price is not None else None,
            "currency": self.currency,
            "coupon": self.coupon,
            "buy_url": self.buy_url,
        }

    def card_content(self) -> CardContent:
        return CardContent(
            name=self.name,
            price=self.price,
            original_price=self.original_price,
            currency=self.currency,
            coupon=self.coupon,
            image=self.image,
        )


@dataclass(frozen=True)
class Leader:
    """A community leader to personalise for: ``id`` names the files, ``share_url`` goes in the QR."""

    id: str
    name: str
    share_url: str | None = None


@dataclass(frozen=True)
class ClipJob:
    """Everything :func:`produce_clip` needs, resolved. ``corner_qr_url`` is burned in for the whole clip."""

    source: Path
    start: float
    end: float
    preset: Preset
    mode: Mode = "accurate"
    product: ProductInfo | None = None
    cues: Sequence[TranscriptCue] = ()
    captions: bool = True
    reframe: str = "auto"
    theme: CardTheme = field(default_factory=CardTheme)
    corner_qr_url: str | None = None
    poster_url: str | None = None
    leaders: Sequence[Leader] = ()  # each with its share URL resolved
    peak: float | None = None
    font: Path | None = None
    info: MediaInfo | None = None


@dataclass(frozen=True)
class ClipTargets:
    """Final paths: ``video``; ``cover``/``poster`` beside it; variants ``<video stem>.<leader>.mp4``
    in the video's folder and leader posters from :meth:`leader_poster`."""

    video: Path
    cover: Path
    poster: Path

    def leader_poster(self, leader_id: str) -> Path:
        return self.poster.with_name(f"{self.poster.stem}.{leader_id}{self.poster.suffix}")

    def variant(self, leader_id: str) -> Path:
        return self.video.with_name(f"{self.video.stem}.{leader_id}.mp4")


@dataclass(frozen=True)
class VariantOutcome:
    leader: Leader
    video: Path
    poster: Path | None
    size_bytes: int


@dataclass
class RenderOutcome:
    """What was written. ``actual_start``/``actual_end`` are source times (keyframes in fast mode)."""

    video: Path
    preset: str
    mode: str
    start: float
    end: float
    actual_start: float
    actual_end: float
    duration: float
    size_bytes: int
    cover: Path | None = None
    poster: Path | None = None
    product: ProductInfo | None = None
    share_url: str | None = None
    corner_qr: bool = False
    end_card: bool = False  # the clip ends on a card with its QR (single link, end-card preset)
    variants: list[VariantOutcome] = field(default_factory=list)
    leader_posters: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def files(self) -> dict[str, Any]:
        """The manifest's ``files``: video, cover, poster and the variants by leader id."""
        return {
            "video": str(self.video),
            "cover": str(self.cover) if self.cover else None,
            "poster": str(self.poster) if self.poster else None,
            "variants": {
                v.leader.id: {
                    "leader": v.leader.name,
                    "share_url": v.leader.share_url,
                    "video": str(v.video),
                    "poster": str(v.poster) if v.poster else None,
                }
                for v in self.variants
            },
        }
