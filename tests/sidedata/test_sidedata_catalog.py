"""Catalog import: validation, all-or-nothing, images."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from sidedata import SideDataImportError, parse_catalog


def _catalog(image: str) -> bytes:
    return f"sku,name,price,image\nA,面霜,89,{image}\n".encode()


def test_one_bad_row_among_good_rows_fails_whole_import() -> None:
    data = "sku,name,price\nA,面霜,89\nB,乳液,abc\nC,精华,¥199\n".encode()
    with pytest.raises(SideDataImportError) as info:
        parse_catalog(data, "catalog.csv")
    assert str(info.value) == "catalog.csv:3: price: not a valid amount 'abc'"
    assert len(info.value.problems) == 1


def test_all_problems_collected_and_message_truncated() -> None:
    rows = "".join(f"S{n},,{-n}\n" for n in range(1, 14))  # 2 problems per row -> 26
    with pytest.raises(SideDataImportError) as info:
        parse_catalog(f"sku,name,price\n{rows}".encode(), "c.csv")
    problems = info.value.problems
    assert len(problems) == 26
    lines = str(info.value).splitlines()
    assert lines[0] == "c.csv:2: name: missing value"
    assert lines[1] == "c.csv:2: price: negative amount '-1'"
    assert len(lines) == 21
    assert lines[-1] == "… and 6 more problems"


def test_duplicate_sku_is_error() -> None:
    with pytest.raises(SideDataImportError) as info:
        parse_catalog(b"sku,name,price\nA,x,1\nB,y,2\nA,z,3\n", "c.csv")
    assert str(info.value) == "c.csv:4: sku: duplicate SKU 'A' (first on line 2)"


def test_currency_coupon_and_prices() -> None:
    data = "sku,name,price,original_price,currency,coupon\nA,x,￥89,¥129.00,usd,满99减10\nB,y,1,,,\n".encode()
    a, b = parse_catalog(data, "c.csv").products
    assert (a.price, a.original_price, a.currency, a.coupon) == (Decimal("89.00"), Decimal("129.00"), "USD", "满99减10")
    assert (b.original_price, b.currency, b.coupon) == (None, "CNY", None)
    with pytest.raises(SideDataImportError, match="currency"):
        parse_catalog(b"sku,name,price,currency\nA,x,1,dollars\n", "c.csv")


def test_buy_url_must_be_http() -> None:
    with pytest.raises(SideDataImportError, match=re.escape("c.csv:2: buy_url: URL must use http or https")):
        parse_catalog(b"sku,name,price,buy_url\nA,x,1,javascript:alert(1)\n", "c.csv")


def test_image_url_host_allow_list() -> None:
    url = "https://img.example.com/a.jpg"
    product = parse_catalog(_catalog(url), "c.csv", allowed_image_hosts=["img.example.com"]).products[0]
    assert product.image == url
    wildcard = parse_catalog(_catalog(url), "c.csv", allowed_image_hosts=["*.example.com"]).products[0]
    assert wildcard.image == url
    with pytest.raises(SideDataImportError, match=re.escape("'evil.example.net' is not an allowed image host")):
        parse_catalog(_catalog("https://evil.example.net/a.jpg"), "c.csv", allowed_image_hosts=["img.example.com"])
    with pytest.raises(SideDataImportError, match="http or https"):
        parse_catalog(_catalog("file:///etc/passwd"), "c.csv", allowed_image_hosts=["img.example.com"])


def test_image_local_path_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jpg").write_bytes(b"jpg")
    relative = parse_catalog(_catalog("sub/a.jpg"), "c.csv", image_roots=[root]).products[0]
    assert relative.image == str((root / "sub" / "a.jpg").resolve())
    absolute = parse_catalog(_catalog(str(root / "sub" / "a.jpg")), "c.csv", image_roots=[root]).products[0]
    assert absolute.image == relative.image
    windows = parse_catalog(_catalog("sub\\a.jpg"), "c.csv", image_roots=[root]).products[0]
    assert windows.image == relative.image


def test_image_path_traversal_rejected(tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    for value in ("../secret.jpg", str(tmp_path / "secret.jpg"), "sub/../../secret.jpg"):
        with pytest.raises(SideDataImportError, match="outside the allowed image roots"):
            parse_catalog(_catalog(value), "c.csv", image_roots=[root])


def test_image_symlink_escape_rejected(tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"x")
    os.symlink(outside / "x.jpg", root / "link.jpg")
    os.symlink(outside, root / "dirlink")
    for value in ("link.jpg", "dirlink/x.jpg"):
        with pytest.raises(SideDataImportError, match="outside the allowed image roots"):
            parse_catalog(_catalog(value), "c.csv", image_roots=[root])


def test_image_missing_or_without_roots(tmp_path: Path) -> None:
    with pytest.raises(SideDataImportError, match="not found"):
        parse_catalog(_catalog("nope.jpg"), "c.csv", image_roots=[tmp_path])
    with pytest.raises(SideDataImportError, match="no image import root"):
        parse_catalog(_catalog("a.jpg"), "c.csv")
