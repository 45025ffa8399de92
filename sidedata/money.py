"""Money parsing: decimal strings to :class:`~decimal.Decimal`, never floats."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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


def parse_money(value: str) -> Decimal:
    """Parse an amount such as ``"129.00"``, ``"¥89"``, ``"￥1,299.5"`` or ``"CNY 10"``.

    Strips whitespace, one leading ``¥``/``￥``/``CNY``/``RMB`` (or a trailing ``元``)
    and thousands separators. Rejects negatives, NaN/infinity, non-numbers and more
    than two significant decimal places (``"1.500"`` is fine, ``"1.505"`` is not)
    with :class:`ValueError`. Returns the amount quantized to 0.01.
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
    if len(decimals) > 2:
        raise ValueError(f"amount {value.strip()!r} has more than 2 decimal places")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex guarantees a number
        raise ValueError(f"not a valid amount {value.strip()!r}") from exc
    return amount.quantize(CENT)
