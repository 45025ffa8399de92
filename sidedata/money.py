"""Money: decimal strings to :class:`~decimal.Decimal` (never floats), and integer minor units in and out.

How many decimals a currency's minor unit has comes from one place, :func:`currency_digits` (Babel's CLDR data:
CNY 2, JPY 0, KWD 3); every conversion between major and minor units in the app goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision

CENT = Decimal("0.01")
_PREFIXES = ("¥", "￥", "CNY", "RMB")
_SUFFIXES = ("元",)
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN = re.compile(r"^(\d+)(?:\.(\d+))?$")


def _strip_currency(text: str) -> str:
    for prefix in _PREFIXES:
        if text.upper().startswith(prefix):
            return text[len(prefix) :].strip()
    for suffix in _SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)].strip()
    return text


def currency_digits(currency: str) -> int:
    """The decimals of ``currency``'s minor unit (ISO 4217 code): CNY 2, JPY 0, KWD 3; 2 for a code CLDR does not
    know."""
    return int(get_currency_precision(currency.strip().upper()))


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("89.90")`` CNY -> 8990, ``Decimal("1.234")`` KWD -> 1234. Raises ValueError when the amount has
    more decimals than the currency."""
    digits = currency_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows ({digits})")
    return int(scaled)


def format_minor(minor: int, currency: str) -> str:
    """Integer minor units as the major unit with the currency's decimals and no grouping: 12345 CNY ->
    ``123.45``, -5 CNY -> ``-0.05``, 1200 JPY -> ``1200``, 1234 KWD -> ``1.234``."""
    digits = currency_digits(currency)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}" if digits else f"{sign}{whole}"


def parse_money(value: str, *, places: int = 2) -> Decimal:
    """Parse an amount such as ``"129.00"``, ``"¥89"``, ``"￥1,299.5"`` or ``"CNY 10"``.

    Strips whitespace, one leading ``¥``/``￥``/``CNY``/``RMB`` (or a trailing ``元``)
    and thousands separators. Rejects negatives, NaN/infinity, non-numbers and more
    than ``places`` significant decimal places (``"1.500"`` is fine, ``"1.505"`` is not;
    ``places=currency_digits(currency)`` for a currency's) with :class:`ValueError`.
    Returns the amount quantized to ``places`` decimals.
    """
    text = _strip_currency(value.strip())
    if not text:
        raise ValueError("empty amount")
    if text.startswith("-"):
        raise ValueError(f"negative amount {value.strip()!r}")
    if text.startswith("+"):
        text = text[1:]
    if "," in text:
        if not _THOUSANDS.match(text):
            raise ValueError(f"not a valid amount {value.strip()!r} (misplaced ',')")
        text = text.replace(",", "")
    match = _PLAIN.match(text)
    if not match:
        raise ValueError(f"not a valid amount {value.strip()!r}")
    decimals = (match.group(2) or "").rstrip("0")
    if len(decimals) > places:
        raise ValueError(f"amount {value.strip()!r} has more than {places} decimal places")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex guarantees a number
        raise ValueError(f"not a valid amount {value.strip()!r}") from exc
    return amount.quantize(CENT if places == 2 else Decimal(1).scaleb(-places))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` (integer minor units, any sign) split in proportion to ``weights`` by largest remainder: the
    parts are whole units and add up to ``total`` exactly (ties go to the earlier weight). Negative weights
    count as 0; all zero splits evenly. ``allocate(1, [1, 1, 1]) == [1, 0, 0]``."""
    if not weights:
        return []
    shares = [max(0, w) for w in weights]
    whole = sum(shares)
    if whole == 0:
        shares, whole = [1] * len(shares), len(shares)
    size = abs(total)
    parts = [size * share // whole for share in shares]
    leftover = size - sum(parts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(size * shares[i] % whole), i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return [-part for part in parts] if total < 0 else parts
