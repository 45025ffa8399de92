"""The bundled Noto Sans SC subset: Simplified glyph forms on a machine with only pip (issue 9)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from studio.ffmpeg import run_ffmpeg
from studio.fonts import BUNDLED_FONT, FontChoice, find_cjk_font, find_fallback_font, write_fonts_conf

# Characters whose Simplified (GB) and Traditional (Taiwan) glyph shapes differ.
SC_TC_DIFFER = "说骨直刃"


@pytest.fixture(scope="module")
def pip_only() -> FontChoice:
    """What a fresh machine with only pip (no fontconfig Chinese font, no system font) chooses."""
    return find_cjk_font(use_fontconfig=False, system_paths=())


@pytest.fixture(scope="module")
def package_tc() -> FontChoice:
    return find_cjk_font(use_fontconfig=False, system_paths=(), use_bundled=False)


def _mask(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    return bytes(font.getmask(text, mode="L"))


def test_fresh_machine_gets_the_bundled_simplified_font(pip_only: FontChoice) -> None:
    assert (pip_only.source, pip_only.path, pip_only.family) == ("bundled", BUNDLED_FONT, "Noto Sans SC Subset")
    assert pip_only.simplified
    assert BUNDLED_FONT.stat().st_size < 4_000_000
    assert (BUNDLED_FONT.parent / "NotoSansSC-OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE") == 1


def test_bundled_default_draws_simplified_forms_unlike_tc(pip_only: FontChoice, package_tc: FontChoice) -> None:
    sc = ImageFont.truetype(str(pip_only.path), 64, index=pip_only.index)
    tc = ImageFont.truetype(str(package_tc.path), 64, index=package_tc.index)
    assert package_tc.family == "Noto Sans CJK TC"
    for char in SC_TC_DIFFER:
        assert _mask(sc, char) != _mask(tc, char), f"{char} has the Traditional shape"


def test_bundled_subset_covers_gb2312_and_card_symbols(pip_only: FontChoice) -> None:
    from studio.cards.text import missing_glyphs

    gb2312 = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                gb2312.add(bytes((row, cell)).decode("gb2312"))
    assert len(gb2312) == 7445
    symbols = (
        "".join(map(chr, range(0x21, 0x7F))) + "¥￥€£°×÷·—…‰℃№①②③★☆✓→↓▶●■※“”‘’「」《》【】（），。！？、：；～\u0336"
    )
    assert missing_glyphs("".join(sorted(gb2312)) + symbols, pip_only.path, pip_only.index) == []


def test_simplified_system_fonts_come_before_the_bundled_one_and_tc_ones_after(package_tc: FontChoice) -> None:
    assert find_cjk_font(use_fontconfig=False, system_paths=[BUNDLED_FONT]).source == "system"  # an SC face
    assert find_cjk_font(use_fontconfig=False, system_paths=[package_tc.path]).source == "bundled"
    only_tc = find_cjk_font(use_fontconfig=False, system_paths=[package_tc.path], use_bundled=False)
    assert (only_tc.source, only_tc.family) == ("system", "Noto Sans CJK TC")


def test_a_tc_font_from_fontconfig_loses_to_the_bundled_sc(
    package_tc: FontChoice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FONTCONFIG_FILE", str(write_fonts_conf(package_tc.path, tmp_path / "fc")))
    assert find_cjk_font(system_paths=()).source == "bundled"
    monkeypatch.setenv("FONTCONFIG_FILE", str(write_fonts_conf(BUNDLED_FONT, tmp_path / "fc2")))
    assert find_cjk_font(system_paths=()).source == "fontconfig"


def test_fallback_font_is_the_wider_tc_package(package_tc: FontChoice) -> None:
    fallback = find_fallback_font(BUNDLED_FONT)
    assert fallback is not None and fallback.path == package_tc.path


def test_libass_captions_draw_simplified_forms_with_the_bundled_font(
    pip_only: FontChoice, package_tc: FontChoice, tmp_path: Path
) -> None:
    width, height = 480, 160

    def caption(choice: FontChoice, name: str) -> np.ndarray:
        conf = write_fonts_conf(choice.path, tmp_path / name)
        srt = tmp_path / f"{name}.srt"
        srt.write_text(f"1\n00:00:00,000 --> 00:00:05,000\n{SC_TC_DIFFER}\n", encoding="utf-8")
        style = f"FontName={choice.family},FontSize=72,PrimaryColour=&H00FFFFFF,Outline=0,Shadow=0"
        out = tmp_path / f"{name}.gray"
        stderr = run_ffmpeg(
            [
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"color=black:size={width}x{height}:duration=1:rate=5",
                "-vf",
                f"subtitles=filename='{srt}':force_style='{style}'",
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                str(out),
            ],
            env={"FONTCONFIG_FILE": str(conf)},
            timeout=60,
        )
        assert str(choice.path) in stderr  # libass's fontselect picked this file
        return np.frombuffer(out.read_bytes(), dtype=np.uint8).reshape(height, width).astype(int)

    sc, tc = caption(pip_only, "sc"), caption(package_tc, "tc")
    assert (sc > 200).sum() > 150
    assert (np.abs(sc - tc) > 100).sum() > 100, "the captions show the same (Traditional) forms"
