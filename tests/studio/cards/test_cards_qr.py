"""QR share codes: decode to the exact URL, EC level M/Q, quiet zone, crisp modules, contrast checks."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from studio.cards import CardError, qr_image, qr_modules

URL = "https://ls.example.com/s/Ab3dEf9h?m=qr"


def decode(image: object) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize(("error", "level"), [("q", "Q"), ("m", "M"), ("Q", "Q")])
def test_qr_decodes_to_exact_url_at_requested_level(error: str, level: str) -> None:
    image = qr_image(URL, size=300, error=error)
    assert image.size == (300, 300) and image.mode == "RGB"
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [URL]
    assert results[0].ec_level == level


@pytest.mark.parametrize("size", [123, 300, 401, 512])
def test_qr_modules_are_whole_pixels_with_a_wide_quiet_zone(size: int) -> None:
    image = qr_image(URL, size=size)
    assert image.size == (size, size)
    pixels = np.asarray(image)
    assert set(np.unique(pixels)) <= {0, 255}, "anti-aliased (non-crisp) pixels"
    dark = np.argwhere(pixels[..., 0] == 0)
    top, left = dark.min(axis=0)
    bottom, right = dark.max(axis=0) + 1
    modules = qr_modules(URL)
    scale = size // (modules + 8)
    assert right - left == bottom - top == modules * scale
    assert min(top, left, size - bottom, size - right) >= 4 * scale
    # Every module is a uniform scale x scale block.
    blocks = pixels[top:bottom, left:right, 0].reshape(modules, scale, modules, scale)
    assert (blocks.min(axis=(1, 3)) == blocks.max(axis=(1, 3))).all()


def test_qr_custom_colours_with_enough_contrast_decode() -> None:
    image = qr_image(URL, size=300, dark="#1a237e", light="#fffde7")
    assert decode(image) == [URL]
    assert tuple(np.asarray(image)[0, 0]) == (0xFF, 0xFD, 0xE7)


@pytest.mark.parametrize("error", ["l", "h", "x", ""])
def test_qr_rejects_error_levels_other_than_m_and_q(error: str) -> None:
    with pytest.raises(CardError, match="error-correction level"):
        qr_image(URL, size=300, error=error)


@pytest.mark.parametrize(
    ("dark", "light", "message"),
    [
        ("#777777", "#999999", "contrast"),
        ("#ff0000", "#ff8080", "contrast"),
        ("#ffffff", "#000000", "darker"),
        ("#000000", "#ffffff80", "opaque"),
        ("black", "#ffffff", "not a colour"),
    ],
)
def test_qr_rejects_weak_inverted_or_bad_colours(dark: str, light: str, message: str) -> None:
    with pytest.raises(CardError, match=message):
        qr_image(URL, size=300, dark=dark, light=light)


def test_qr_rejects_narrow_quiet_zone_tiny_size_and_bad_urls() -> None:
    with pytest.raises(CardError, match="quiet zone"):
        qr_image(URL, size=300, border=2)
    with pytest.raises(CardError, match="too small"):
        qr_image(URL, size=20)
    with pytest.raises(CardError, match="non-empty"):
        qr_image("  ", size=300)
    with pytest.raises(CardError, match="too long"):
        qr_image("https://x.example/" + "a" * 4000, size=300)


def test_qr_wider_border_still_decodes() -> None:
    assert decode(qr_image(URL, size=400, border=6, error="m")) == [URL]
