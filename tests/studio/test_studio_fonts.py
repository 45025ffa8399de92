"""studio.fonts: a font that really draws Chinese, found and handed to ffmpeg (drawtext and libass)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.errors import ToolchainError
from studio.ffmpeg import run_ffmpeg
from studio.fonts import (
    FontChoice,
    find_cjk_font,
    font_faces,
    has_cjk_glyphs,
    prefers_simplified,
    write_fonts_conf,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
W, H = 320, 240
_ONE_GRAY_FRAME = ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray"]


@pytest.fixture(scope="module")
def package_font() -> FontChoice:
    return find_cjk_font(use_fontconfig=False, system_paths=(), use_bundled=False)


def test_package_font(package_font: FontChoice) -> None:
    assert package_font.source == "package"
    assert package_font.path.name == "NotoSansCJKtc-Regular.otf"
    assert package_font.family == "Noto Sans CJK TC"
    assert package_font.simplified is False  # Traditional forms
    assert has_cjk_glyphs(package_font.path)


def test_default_search_finds_a_real_cjk_font() -> None:
    choice = find_cjk_font()
    assert choice.source in {"fontconfig", "system", "bundled"}
    assert choice.simplified
    assert has_cjk_glyphs(choice.path, index=choice.index)
    assert any(index == choice.index and family == choice.family for index, family, _ in font_faces(choice.path))


@pytest.mark.needs(DEJAVU.is_file(), "DejaVu Sans not installed (apt-get install fonts-dejavu-core)")
def test_latin_font_has_no_cjk_glyphs() -> None:
    assert not has_cjk_glyphs(DEJAVU)
    assert has_cjk_glyphs(DEJAVU, sample="Hello")  # the check itself works on what the font has


def test_glyph_check_rejects_missing_characters(package_font: FontChoice) -> None:
    assert has_cjk_glyphs(package_font.path, sample="上链接")
    assert not has_cjk_glyphs(package_font.path, sample="上链接\U000f0001")  # private use: tofu


def test_not_a_font_file(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ttf"
    bogus.write_text("not a font", encoding="utf-8")
    assert not has_cjk_glyphs(bogus)
    with pytest.raises(ToolchainError, match=r"bogus\.ttf is not a font file"):
        find_cjk_font(bogus)


def test_configured_font_wins(package_font: FontChoice) -> None:
    choice = find_cjk_font(package_font.path)
    assert (choice.source, choice.path, choice.family) == ("configured", package_font.path, "Noto Sans CJK TC")


def test_configured_font_missing(tmp_path: Path) -> None:
    missing = tmp_path / "gone.otf"
    with pytest.raises(ToolchainError) as err:
        find_cjk_font(missing)
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)


@pytest.mark.needs(DEJAVU.is_file(), "DejaVu Sans not installed (apt-get install fonts-dejavu-core)")
def test_configured_font_without_cjk() -> None:
    with pytest.raises(ToolchainError, match="has no Chinese glyphs"):
        find_cjk_font(DEJAVU)


def test_system_path_candidates(package_font: FontChoice, tmp_path: Path) -> None:
    candidates = [tmp_path / "none.ttc", package_font.path]
    assert find_cjk_font(use_fontconfig=False, system_paths=candidates, use_bundled=False).source == "system"
    if DEJAVU.is_file():  # a Latin font on a system path is skipped, not chosen
        choice = find_cjk_font(use_fontconfig=False, system_paths=[DEJAVU], use_bundled=False)
        assert choice.source == "package"


def test_nothing_found_says_how_to_fix() -> None:
    with pytest.raises(ToolchainError) as err:
        find_cjk_font(use_fontconfig=False, system_paths=(), use_bundled=False, use_package=False)
    message = str(err.value)
    assert "pip install cvttf-NotoSansCJK-Regular" in message
    assert "apt-get install fonts-noto-cjk" in message
    assert "LIVESLICE_FONT=" in message


def test_found_through_fontconfig(package_font: FontChoice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write_fonts_conf(package_font.path, tmp_path / "fc")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    choice = find_cjk_font(system_paths=(), use_bundled=False, use_package=False)
    assert (choice.source, choice.path, choice.family) == ("fontconfig", package_font.path, "Noto Sans CJK TC")


@pytest.mark.parametrize(
    ("family", "simplified"),
    [
        ("Noto Sans CJK SC", True),
        ("Source Han Sans SC", True),
        ("WenQuanYi Zen Hei", True),
        ("Noto Sans SC", True),
        ("Noto Sans CJK TC", False),
        ("Noto Sans CJK JP", False),
        ("DejaVu Sans", False),
    ],
)
def test_prefers_simplified(family: str, simplified: bool) -> None:
    assert prefers_simplified(family) is simplified


def test_write_fonts_conf(package_font: FontChoice, tmp_path: Path) -> None:
    conf = write_fonts_conf(package_font.path, tmp_path / "fc", family="Noto Sans CJK TC")
    text = conf.read_text(encoding="utf-8")
    assert f"<dir>{package_font.path.parent}</dir>" in text
    assert f"<cachedir>{tmp_path / 'fc' / 'fontconfig-cache'}</cachedir>" in text
    assert "<family>sans-serif</family><prefer><family>Noto Sans CJK TC</family>" in text
    assert sorted(p.name for p in conf.parent.iterdir()) == ["fontconfig-cache", "fonts.conf"]  # no temp files
    with pytest.raises(ToolchainError):
        write_fonts_conf(tmp_path / "missing.otf", tmp_path / "fc")


def _filter_value(value: str) -> str:
    """Quote a value for an ffmpeg filter option (inside quotes only a quote is special)."""
    return "'" + value.replace("'", r"'\''") + "'"


def _render_gray(args: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[np.ndarray, str]:
    stderr = run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", f"color=black:size={W}x{H}:duration=1:rate=5", *args, *_ONE_GRAY_FRAME, str(out)],
        env=env,
        timeout=60,
    )
    return np.frombuffer(out.read_bytes(), dtype=np.uint8).reshape(H, W), stderr


def test_libass_captions_use_the_font(package_font: FontChoice, tmp_path: Path) -> None:
    conf = write_fonts_conf(package_font.path, tmp_path / "fc")
    frames = []
    for i, text in enumerate(["中文字幕", "保湿面霜"]):
        srt = tmp_path / f"c{i}.srt"
        srt.write_text(f"1\n00:00:00,000 --> 00:00:05,000\n{text}\n", encoding="utf-8")
        style = f"FontName={package_font.family},FontSize=48,PrimaryColour=&H00FFFFFF"
        vf = f"subtitles=filename={_filter_value(str(srt))}:force_style={_filter_value(style)}"
        frame, stderr = _render_gray(["-vf", vf], tmp_path / f"c{i}.gray", env={"FONTCONFIG_FILE": str(conf)})
        assert str(package_font.path) in stderr  # libass's fontselect picked our file
        caption, above = frame[H * 2 // 3 :], frame[: H // 2]
        assert (caption > 200).sum() > 150, "no white caption pixels"
        assert (above > 30).sum() == 0
        frames.append(caption)
    changed = (np.abs(frames[0].astype(int) - frames[1].astype(int)) > 100).sum()
    assert changed > 150, "two different captions rendered the same (tofu boxes?)"


def test_drawtext_with_fontfile(package_font: FontChoice, tmp_path: Path) -> None:
    frames = []
    for i, text in enumerate(["上链接", "面霜"]):
        vf = (
            f"drawtext=fontfile={_filter_value(str(package_font.path))}:text={_filter_value(text)}"
            ":fontcolor=white:fontsize=40:x=20:y=100"
        )
        frame, _ = _render_gray(["-vf", vf], tmp_path / f"d{i}.gray")
        assert (frame > 200).sum() > 150
        frames.append(frame)
    assert (np.abs(frames[0].astype(int) - frames[1].astype(int)) > 100).sum() > 150
