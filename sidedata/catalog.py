"""Product catalog import (``sku, name, price[, original_price, currency, coupon, coupon_expires, image,
buy_url]``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sidedata.errors import ProblemCollector
from sidedata.fields import optional_text, read_money, required_text
from sidedata.records import Product
from sidedata.tables import Row, read_table

COLUMNS = ("sku", "name", "price", "original_price", "currency", "coupon", "coupon_expires", "image", "buy_url")
REQUIRED = ("sku", "name", "price")
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CURRENCY_ALIASES = {"人民币": "CNY", "RMB": "CNY", "¥": "CNY", "￥": "CNY"}


@dataclass
class CatalogResult:
    """Products in file order, warnings, and the number of data rows read."""

    products: list[Product]
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def _host_allowed(host: str, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        pattern = entry.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def check_http_url(value: str) -> str:
    """Return the host of an http(s) URL, or raise ValueError."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL must use http or https, not {parts.scheme or 'no scheme'!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {value!r}")
    return host


def resolve_image(value: str, image_roots: Sequence[Path], allowed_image_hosts: Sequence[str]) -> str:
    """Validate an ``image`` value; return the URL or the resolved local path.

    URLs must be http(s) with a host in ``allowed_image_hosts`` (``*.example.com``
    matches subdomains). Local paths (relative ones are tried against each root)
    must resolve, following symlinks, to an existing file inside an image root.
    """
    if _URL_LIKE.match(value):
        host = check_http_url(value)
        if not _host_allowed(host, allowed_image_hosts):
            raise ValueError(f"image host {host!r} is not an allowed image host")
        return value
    if not image_roots:
        raise ValueError("local image paths are not allowed (no image import root configured)")
    path = Path(value.replace("\\", "/"))
    escaped = False
    try:
        roots = [Path(root).resolve() for root in image_roots]
        candidates = [path.resolve()] if path.is_absolute() else [(root / path).resolve() for root in roots]
        for candidate in candidates:
            if not any(candidate.is_relative_to(root) for root in roots):
                escaped = True
                continue
            if candidate.is_file():
                return str(candidate)
    except (OSError, ValueError) as exc:
        raise ValueError(f"invalid image path {value!r}: {exc}") from exc
    if escaped:
        raise ValueError(f"image path {value!r} resolves outside the allowed image roots")
    raise ValueError(f"image file {value!r} not found in the image roots")


_DATE_ONLY = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


def parse_expiry(value: str, timezone: str = "Asia/Shanghai") -> datetime:
    """A coupon's expiry as an aware datetime: ISO 8601 (with or without an offset), ``YYYY-MM-DD HH:MM[:SS]``
    (``/`` also separates the date), read in ``timezone`` without an offset. A bare date means the coupon
    holds through that day (it expires at the next midnight). Raises ValueError."""
    text = value.strip()
    zone = ZoneInfo(timezone)
    if match := _DATE_ONLY.match(text):
        try:
            day = datetime(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as exc:
            raise ValueError(f"invalid date {text!r}: {exc}") from exc
        return datetime.combine(day.date() + timedelta(days=1), time(), tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise ValueError(
            f"invalid coupon expiry {text!r} (expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or ISO 8601)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _currency(value: str | None) -> str:
    if not value:
        return "CNY"
    code = _CURRENCY_ALIASES.get(value.upper(), value.upper())
    if not _CURRENCY.match(code):
        raise ValueError(f"invalid currency {value!r} (expected a 3-letter code such as CNY)")
    return code


def _product(
    row: Row,
    problems: ProblemCollector,
    image_roots: Sequence[Path],
    allowed_image_hosts: Sequence[str],
    timezone: str = "Asia/Shanghai",
) -> Product | None:
    before = len(problems.problems)
    sku = required_text(row, "sku", problems)
    name = required_text(row, "name", problems)
    price = read_money(row, "price", problems)
    original = read_money(row, "original_price", problems, required=False)
    currency = "CNY"
    try:
        currency = _currency(optional_text(row, "currency"))
    except ValueError as exc:
        problems.add(row.line, "currency", str(exc))
    image = optional_text(row, "image")
    if image:
        try:
            image = resolve_image(image, image_roots, allowed_image_hosts)
        except ValueError as exc:
            problems.add(row.line, "image", str(exc))
    expires = None
    if row.get("coupon_expires"):
        try:
            expires = parse_expiry(row.get("coupon_expires"), timezone)
        except ValueError as exc:
            problems.add(row.line, "coupon_expires", str(exc))
    buy_url = optional_text(row, "buy_url")
    if buy_url:
        try:
            check_http_url(buy_url)
        except ValueError as exc:
            problems.add(row.line, "buy_url", str(exc))
    if len(problems.problems) != before or sku is None or name is None or price is None:
        return None
    return Product(
        sku=sku,
        name=name,
        price=price,
        original_price=original,
        currency=currency,
        coupon=optional_text(row, "coupon"),
        image=image,
        buy_url=buy_url,
        coupon_expires=expires,
    )


def parse_catalog(
    data: bytes,
    filename: str,
    *,
    image_roots: Sequence[Path] = (),
    allowed_image_hosts: Sequence[str] = (),
    timezone: str = "Asia/Shanghai",
) -> CatalogResult:
    """Parse a product catalog. All or nothing: raises SideDataImportError on any problem.

    A SKU repeated within the file is an error (re-import upserts across files).
    """
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems)
    products: list[Product] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        sku = row.get("sku")
        if sku and sku in first_line:
            problems.add(row.line, "sku", f"duplicate SKU {sku!r} (first on line {first_line[sku]})")
        elif sku:
            first_line[sku] = row.line
        product = _product(row, problems, image_roots, allowed_image_hosts, timezone)
        if product is not None:
            products.append(product)
    problems.raise_if_any()
    warnings = list(table.warnings)
    if not products:
        warnings.append(f"{filename}: no products found")
    return CatalogResult(products=products, warnings=warnings, rows=len(table.rows))
