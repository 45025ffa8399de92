"""Share posters and atomic image writes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from studio.cards import CardContent, CardError, render_poster, save_image_atomic

URL = "https://ls.example.com/s/Zz9xYw?m=qr&l=L000777"
CONTENT = CardContent(
    name="保湿面霜 Hydrating Cream 深层补水", price=Decimal("89.00"), original_price=Decimal("129"), coupon="满99减10"
)


@pytest.mark.parametrize("size", [(1080, 1920), (1080, 1440)])
def test_poster_has_cover_card_and_a_qr_that_decodes(size: tuple[int, int]) -> None:
    cover = Image.new("RGB", (1080, 1920), (30, 160, 90))
    poster = render_poster(cover=cover, content=CONTENT, qr_url=URL, leader="小米粥", size=size)
    assert poster.size == size and poster.mode == "RGB"
    assert [r.text for r in zxingcpp.read_barcodes(poster)] == [URL]
    top = np.asarray(poster)[: size[1] // 4, size[0] // 2].astype(int)
    assert (np.abs(top - [30, 160, 90]) < 4).all(axis=1).any(), "cover not shown at the top"


def test_poster_leader_changes_the_image_and_can_be_omitted() -> None:
    cover = Image.new("RGB", (720, 1280), (200, 60, 60))
    a = np.asarray(render_poster(cover=cover, content=CONTENT, qr_url=URL, leader="小米粥")).astype(int)
    b = np.asarray(render_poster(cover=cover, content=CONTENT, qr_url=URL, leader=None)).astype(int)
    assert np.abs(a - b).sum() > 0
    with pytest.raises(CardError, match="too small"):
        render_poster(cover=cover, content=CONTENT, qr_url=URL, leader=None, size=(400, 600))


def test_save_image_atomic_writes_png_and_jpeg_and_leaves_no_temp_files(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (40, 30), (255, 0, 0, 128))
    png = save_image_atomic(rgba, tmp_path / "out" / "card.png")
    jpg = save_image_atomic(rgba, tmp_path / "out" / "card.jpg")
    forced = save_image_atomic(rgba, tmp_path / "out" / "poster.img", format="PNG")
    with Image.open(png) as p, Image.open(jpg) as j, Image.open(forced) as f:
        assert (p.format, p.mode, p.size) == ("PNG", "RGBA", (40, 30))
        assert (j.format, j.mode) == ("JPEG", "RGB")
        assert f.format == "PNG"
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["card.jpg", "card.png", "poster.img"]


def test_save_image_atomic_keeps_the_old_file_when_saving_fails(tmp_path: Path) -> None:
    target = tmp_path / "card.png"
    target.write_bytes(b"old")
    with pytest.raises(OSError):
        save_image_atomic(Image.new("CMYK", (4, 4)), target)
    assert target.read_bytes() == b"old"
    assert [x.name for x in tmp_path.iterdir()] == ["card.png"]
    with pytest.raises(CardError, match="not PNG, JPEG or WEBP"):
        save_image_atomic(Image.new("RGB", (4, 4)), tmp_path / "x.bmp")
    assert not (tmp_path / "x.bmp").exists()
