"""What a product card says and how its prices read; no Pillow, so the API can format prices cheaply.

Prices are :class:`~decimal.Decimal`. Display rule (:func:`format_price`): rounded half-up to cents;
whole amounts drop ".00" (``¥89``), others keep exactly two decimals (``¥89.90``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from studio.errors import CardError

__all__ = ["CURRENCY_SYMBOLS", "CardContent", "format_price"]

CURRENCY_SYMBOLS = {
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
    "KRW": "₩",
}
_CENT = Decimal("0.01")


def _money(value: object, field: str) -> Decimal:
    if isinstance(value, float):
        raise CardError(f"{field}: money must be a Decimal or a decimal string, not the float {value!r}")
    try:
        amount = Decimal(str(value).strip().lstrip("¥￥")) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise CardError(f"{field}: {value!r} is not a decimal amount") from exc
    if not amount.is_finite() or amount < 0:
        raise CardError(f"{field}: {value!r} must be a finite amount of zero or more")
    return amount


@dataclass(frozen=True)
class CardContent:
    """What a product card says. Amounts given as ``int`` or ``str`` become Decimal; floats are refused."""

    name: str
    price: Decimal
    original_price: Decimal | None = None
    currency: str = "CNY"
    coupon: str | None = None
    image: Path | None = None
    cta: str = "点击下方链接购买"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise CardError("product card needs a product name")
        object.__setattr__(self, "name", " ".join(self.name.split()))
        object.__setattr__(self, "price", _money(self.price, "price"))
        if self.original_price is not None:
            object.__setattr__(self, "original_price", _money(self.original_price, "original_price"))
        currency = str(self.currency or "CNY").strip().upper()
        if not (len(currency) == 3 and currency.isalpha()):
            raise CardError(f"currency: {self.currency!r} is not a 3-letter ISO code such as CNY or USD")
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "coupon", (self.coupon or "").strip() or None)
        object.__setattr__(self, "cta", (self.cta or "").strip())
        if self.image is not None:
            object.__setattr__(self, "image", Path(self.image))

    @property
    def shows_original(self) -> bool:
        """The original price is shown (struck through) only when it is higher than the price."""
        return self.original_price is not None and self.original_price > self.price


def format_price(amount: Decimal, currency: str = "CNY") -> str:
    """``¥89``, ``¥89.90``, ``$12.50``, ``SEK 99`` (unknown currencies are prefixed by their code)."""
    cents = _money(amount, "amount").quantize(_CENT, rounding=ROUND_HALF_UP)
    number = f"{cents:.0f}" if cents == cents.to_integral_value() else f"{cents:.2f}"
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{code} {number}"
