"""Sales tune the highlight engine: which signals picked the clips that sold, and the weights that follows.

The method (:data:`METHOD`), per signal ``s`` of the current weights (a preset, built-in or stored):

1. Every clip made from a highlight carries the highlight's ``contributions``: each signal's share of the
   score at its peak. Shares are taken over the current weights' signals only and made to sum to 1; a
   highlight rendered in several presets counts once.
2. ``pick_share[s]``: the mean share of ``s`` over every highlight that became a clip.
3. ``sales_share[s]``: the share of ``s`` weighted by each highlight's attributed net GMV (amount paid less
   refunds; cancelled and fully refunded sales left out; the currency with the most sales).
4. ``ratio = sales_share / pick_share``, clamped to [:data:`MIN_RATIO`, :data:`MAX_RATIO`] so that one round
   moves a weight at most by half or double; a signal that picked nothing keeps ratio 1.
5. ``suggested[s] ∝ current[s] × ratio``, normalised to sum 1. A signal at weight 0 stays 0.

A signal that picked the clips which sold more than its share of all clips gains weight, and the other
way round. The suggestion rests on ``sales_count`` sales and is refused below ``min_sales``
(``LIVESLICE_TUNING_MIN_SALES``, default 20): too few sales say more about chance than about signals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.errors import Conflict, InvalidValue, ServiceError
from services.weight_presets import weights_of
from store.models import Attribution, Clip, HighlightRow, Sale

MIN_RATIO, MAX_RATIO = 0.5, 2.0
EXCLUDED_STATUSES = ("cancelled", "refunded")
METHOD = (
    "Each clip made from a highlight carries its signals' shares of the score (contributions, over the current "
    "weights' signals, summing to 1). pick share = a signal's mean share over all highlights that became clips; "
    "sales share = its share weighted by each highlight's attributed net GMV (paid less refunds, cancelled and "
    "refunded sales excluded, one currency). suggested weight ∝ current weight × clamp(sales share / pick share, "
    f"{MIN_RATIO}, {MAX_RATIO}), normalised to sum 1; refused below the minimum number of sales."
)


class TuningError(ServiceError):
    """A weight suggestion that cannot be made."""


class UnknownBase(InvalidValue, TuningError):
    code = "unknown_preset"


class NotEnoughSales(Conflict, TuningError):
    """Too few attributed sales to suggest weights from; ``extra`` carries the counts."""

    code = "not_enough_sales"

    def __init__(self, message: str, *, sales_count: int, min_sales: int) -> None:
        super().__init__(message)
        self.extra = {"sales_count": sales_count, "min_sales": min_sales}


@dataclass(frozen=True)
class SignalRow:
    signal: str
    current_weight: float
    pick_share: float
    sales_share: float
    ratio: float
    suggested_weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "current_weight": round(self.current_weight, 4),
            "pick_share": round(self.pick_share, 4),
            "sales_share": round(self.sales_share, 4),
            "ratio": round(self.ratio, 4),
            "suggested_weight": round(self.suggested_weight, 4),
        }


@dataclass
class Breakdown:
    """Attributed sales broken down by the signals that picked the clips, and the weights that follow."""

    base: str
    currency: str | None
    sales_count: int
    gmv: int
    highlights_made: int
    highlights_sold: int
    min_sales: int
    signals: list[SignalRow] = field(default_factory=list)

    @property
    def enough(self) -> bool:
        return self.sales_count >= self.min_sales

    @property
    def suggested_weights(self) -> dict[str, float]:
        return {row.signal: round(row.suggested_weight, 4) for row in self.signals if row.suggested_weight > 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "method": METHOD,
            "currency": self.currency,
            "sales_count": self.sales_count,
            "gmv": self.gmv,
            "highlights_made": self.highlights_made,
            "highlights_sold": self.highlights_sold,
            "min_sales": self.min_sales,
            "signals": [row.to_dict() for row in self.signals],
            "suggested_weights": self.suggested_weights if self.enough else None,
        }


def _shares(contributions: Mapping[str, Any] | None, signals: set[str]) -> dict[str, float] | None:
    """A highlight's contributions over ``signals``, summing to 1 (None when none of them contributed)."""
    kept: dict[str, float] = {}
    for name, value in (contributions or {}).items():
        try:
            share = float(value)
        except (TypeError, ValueError):
            continue
        if name in signals and share > 0:
            kept[name] = share
    total = sum(kept.values())
    return {name: v / total for name, v in kept.items()} if total > 0 else None


def _made(session: Session, signals: set[str]) -> dict[str, dict[str, float]]:
    """The shares of every highlight that became a (not failed) clip, by highlight id."""
    rows = session.execute(
        select(HighlightRow.id, HighlightRow.contributions)
        .where(HighlightRow.id.in_(select(Clip.highlight_id).where(Clip.status != "failed")))
        .order_by(HighlightRow.id)
    )
    return {hid: shares for hid, contributions in rows if (shares := _shares(contributions, signals)) is not None}


def _sold(session: Session) -> tuple[str | None, dict[str, tuple[int, int]]]:
    """The main currency and, per highlight, (sales, net GMV) of its clips' attributed sales in it."""
    per_currency = session.execute(
        select(
            Clip.highlight_id,
            Sale.currency,
            func.count(func.distinct(Sale.id)),
            func.sum(Sale.amount - Sale.refund_amount),
        )
        .select_from(Attribution)
        .join(Sale, Sale.id == Attribution.sale_id)
        .join(Clip, Clip.id == Attribution.clip_id)
        .where(Clip.highlight_id.is_not(None), Sale.status.not_in(EXCLUDED_STATUSES), Sale.amount > Sale.refund_amount)
        .group_by(Clip.highlight_id, Sale.currency)
    ).all()
    counts: dict[str, int] = defaultdict(int)
    for _hid, currency, sales, _gmv in per_currency:
        counts[currency] += int(sales)
    if not counts:
        return None, {}
    main = max(sorted(counts), key=lambda c: counts[c])
    return main, {
        hid: (int(sales), int(gmv or 0)) for hid, currency, sales, gmv in per_currency if currency == main and hid
    }


def breakdown(session: Session, *, base: str = "sales", min_sales: int = 20) -> Breakdown:
    """The signals' pick and sales shares for the weights of ``base`` (a built-in or stored preset), and the
    suggested weights (see the module's method). Does not refuse: check :attr:`Breakdown.enough`."""
    current = weights_of(session, base)
    if current is None:
        raise UnknownBase(f"unknown preset {base!r}: give a built-in preset or a saved one")
    signals = {name for name, w in current.items() if w > 0}
    made = _made(session, signals)
    currency, sold = _sold(session)
    sold = {hid: v for hid, v in sold.items() if hid in made}
    sales_count = sum(count for count, _ in sold.values())
    gmv = sum(amount for _, amount in sold.values())
    pick = {s: sum(shares.get(s, 0.0) for shares in made.values()) / len(made) if made else 0.0 for s in signals}
    by_sales = {
        s: sum(amount * made[hid].get(s, 0.0) for hid, (_, amount) in sold.items()) / gmv if gmv else 0.0
        for s in signals
    }
    ratios = {s: min(MAX_RATIO, max(MIN_RATIO, by_sales[s] / pick[s])) if pick[s] > 0 and gmv else 1.0 for s in signals}
    raw = {s: current[s] * ratios[s] for s in signals}
    total = sum(raw.values())
    rows = [
        SignalRow(s, current[s], pick[s], by_sales[s], ratios[s], raw[s] / total if total else 0.0)
        for s in sorted(signals, key=lambda s: (-current[s], s))
    ]
    return Breakdown(
        base=base,
        currency=currency if sold else None,
        sales_count=sales_count,
        gmv=gmv,
        highlights_made=len(made),
        highlights_sold=len(sold),
        min_sales=min_sales,
        signals=rows,
    )


def suggest(session: Session, *, base: str = "sales", min_sales: int = 20) -> Breakdown:
    """:func:`breakdown`, refused with :class:`NotEnoughSales` below ``min_sales`` sales."""
    result = breakdown(session, base=base, min_sales=min_sales)
    if not result.enough:
        raise NotEnoughSales(
            f"a weight suggestion needs at least {min_sales} attributed sales of clips made from highlights; "
            f"there are {result.sales_count}",
            sales_count=result.sales_count,
            min_sales=min_sales,
        )
    return result
