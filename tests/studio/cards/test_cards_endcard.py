"""End cards: a big QR that still decodes after downscaling, JPEG and H.264 encoding."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from studio.cards import CardContent, CardError, qr_modules, render_end_card, save_image_atomic
from studio.ffmpeg import run_ffmpeg

URL = "https://ls.example.com/s/Ab3dEf9h?m=qr&l=L000123"
CONTENT = CardContent(
    name="保湿面霜 Hydrating Cream 深层补水滋润修护敏感肌肤干皮救星大容量家庭装", price=Decimal("89.00")
)


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def symbol_width(image: Image.Image) -> int:
    (result,) = zxingcpp.read_barcodes(image)
    pos = result.position
    return max(pos.top_right.x, pos.bottom_right.x) - min(pos.top_left.x, pos.bottom_left.x)


@pytest.mark.parametrize("size", [(1080, 1920), (720, 1280), (1080, 1440), (1080, 1080), (1920, 1080)])
def test_end_card_qr_decodes_and_is_big(size: tuple[int, int]) -> None:
    card = render_end_card(size=size, qr_url=URL, leader="小米粥", content=CONTENT)
    assert card.size == size and card.mode == "RGB"
    assert decoded(card) == [URL]
    modules = qr_modules(URL)
    # The symbol plus its 4-module quiet zone on each side spans >= 40 % of the shorter side.
    assert symbol_width(card) * (modules + 8) / modules >= 0.4 * min(size) - 1
    if size[1] >= size[0] * 1.25:
        assert symbol_width(card) * (modules + 8) / modules >= 0.4 * size[0] - 1


def test_end_card_survives_downscale_to_720p_and_jpeg_quality_60() -> None:
    card = render_end_card(size=(1080, 1920), qr_url=URL, leader="小米粥", content=CONTENT)
    small = card.resize((720, 1280), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=60)
    assert decoded(Image.open(buffer)) == [URL]


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1080, 1920), (720, 1280)])
def test_end_card_decodes_after_h264_encoding(tmp_path: Path, size: tuple[int, int]) -> None:
    png = save_image_atomic(
        render_end_card(size=size, qr_url=URL, leader="小米粥", content=CONTENT), tmp_path / "e.png"
    )
    mp4, frame = tmp_path / "e.mp4", tmp_path / "frame.png"
    run_ffmpeg(
        [
            "-loop",
            "1",
            "-framerate",
            "30",
            "-i",
            str(png),
            "-frames:v",
            "3",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(mp4),
        ]
    )
    run_ffmpeg(["-i", str(mp4), "-frames:v", "1", "-update", "1", "-y", str(frame)])
    with Image.open(frame) as image:
        assert image.size == size
        assert decoded(image) == [URL]


def test_end_card_leader_and_content_are_drawn() -> None:
    bare = np.asarray(render_end_card(size=(720, 1280), qr_url=URL, leader=None, content=None)).astype(int)
    full = np.asarray(render_end_card(size=(720, 1280), qr_url=URL, leader="小米粥", content=CONTENT)).astype(int)
    other = np.asarray(render_end_card(size=(720, 1280), qr_url=URL, leader="大橙子", content=CONTENT)).astype(int)
    assert np.abs(full - bare).sum() > 0
    assert np.abs(full - other).sum() > 0, "the leader's name is not drawn"
    english = render_end_card(
        size=(720, 1280), qr_url=URL, leader="Amy", content=None, prompt="Scan to buy", leader_format="Shared by {name}"
    )
    assert decoded(english) == [URL]


def test_end_card_rejects_bad_sizes_and_small_qr() -> None:
    with pytest.raises(CardError, match="even"):
        render_end_card(size=(721, 1280), qr_url=URL, leader=None, content=None)
    with pytest.raises(CardError, match="QR fraction"):
        render_end_card(size=(720, 1280), qr_url=URL, leader=None, content=None, qr_fraction=0.3)
    with pytest.raises(CardError, match="error-correction"):
        render_end_card(size=(720, 1280), qr_url=URL, leader=None, content=None, error="l")
