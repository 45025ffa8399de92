"""Encoding detection and errors."""

from __future__ import annotations

import codecs
import pickle
from decimal import Decimal

import pytest

from sidedata import EncodingError, ImportProblem, SideDataImportError, decode_text, parse_catalog

CHINESE_CATALOG = "商品ID,商品名称,直播价,原价,优惠券,商品链接\nLS-0001,保湿面霜 Hydrating Cream,89.00,129.00,满99减10,https://shop.example.com/p/LS-0001\nLS-0002,洁面乳,¥59,,,\n"


@pytest.mark.parametrize(
    "data",
    [
        "价格 price".encode(),
        codecs.BOM_UTF8 + "价格 price".encode(),
        "价格 price".encode("utf-16"),
        codecs.BOM_UTF16_BE + "价格 price".encode("utf-16-be"),
        "价格 price".encode("gb18030"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "gb18030"],
)
def test_decode_text_detects_encodings(data: bytes) -> None:
    assert decode_text(data, "f.csv") == "价格 price"


def test_utf8_gb18030_and_bom_catalogs_import_identically() -> None:
    variants = {
        "utf-8": CHINESE_CATALOG.encode("utf-8"),
        "utf-8-sig": CHINESE_CATALOG.encode("utf-8-sig"),
        "gb18030": CHINESE_CATALOG.encode("gb18030"),
        "utf-16": CHINESE_CATALOG.encode("utf-16"),
    }
    results = {name: parse_catalog(data, "catalog.csv").products for name, data in variants.items()}
    first = results["utf-8"]
    assert all(products == first for products in results.values())
    assert first[0].name == "保湿面霜 Hydrating Cream"
    assert first[0].price == Decimal("89.00")
    assert first[0].coupon == "满99减10"
    assert first[1].price == Decimal("59.00")
    assert first[1].original_price is None


def test_undecodable_bytes_name_tried_encodings() -> None:
    with pytest.raises(EncodingError) as info:
        decode_text(b"sku,name\n\x80\xff\x80,abc\n", "bad.csv")
    message = str(info.value)
    assert "bad.csv" in message
    for name in ("UTF-8", "UTF-8 BOM", "UTF-16 with BOM", "GB18030"):
        assert name in message


def test_gb18030_garbage_with_control_chars_is_unknown_encoding() -> None:
    data = b"sku,name\nA,\x81\x30\x81\x30"  # decodes as GB18030 to U+0080 (a C1 control)
    assert data.decode("gb18030").endswith("\x80")
    with pytest.raises(EncodingError, match="GB18030"):
        decode_text(data, "x.csv")


def test_utf16_without_bom_is_rejected() -> None:
    with pytest.raises(EncodingError, match="NUL"):
        decode_text("sku,name\n".encode("utf-16-le"), "x.csv")


def test_parser_raises_encoding_error_not_partial_data() -> None:
    with pytest.raises(EncodingError):
        parse_catalog(b"sku,name,price\n\xff\xff,x,1\n", "c.csv")


def test_import_problem_str_and_error_message_limits() -> None:
    assert str(ImportProblem("c.csv", 3, "price", "bad")) == "c.csv:3: price: bad"
    assert str(ImportProblem("c.csv", None, None, "empty")) == "c.csv: empty"
    problems = [ImportProblem("c.csv", n, "sku", "missing value") for n in range(2, 27)]
    error = SideDataImportError(problems)
    lines = str(error).splitlines()
    assert len(lines) == 21
    assert lines[0] == "c.csv:2: sku: missing value"
    assert lines[19] == "c.csv:21: sku: missing value"
    assert lines[20] == "… and 5 more problems"
    assert error.problems == problems
    clone = pickle.loads(pickle.dumps(error))
    assert clone.problems == problems
    assert str(clone) == str(error)
