"""Fixtures for the sidedata tests: deterministic in-memory files."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from openpyxl import Workbook

from sidedata import TimeContext

CATALOG_EXAMPLE = (
    "sku,name,price,original_price,currency,coupon,image,buy_url\n"
    "LS-0001,保湿面霜 Hydrating Cream,89.00,129.00,CNY,满99减10,,https://shop.example.com/p/LS-0001\n"
)


def _xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def make_xlsx() -> Callable[[Sequence[Sequence[Any]]], bytes]:
    """Build an XLSX workbook (first sheet = ``rows``) and return its bytes."""
    return _xlsx_bytes


@pytest.fixture
def ctx() -> TimeContext:
    """A context with no stream start and no known duration."""
    return TimeContext()


@pytest.fixture
def catalog_example() -> str:
    """The catalog example from FORMATS.md, verbatim."""
    return CATALOG_EXAMPLE
