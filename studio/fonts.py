"""Find a font that really draws Chinese, for cards (drawtext ``fontfile=``) and captions (libass).

The audience reads Simplified Chinese, so Simplified faces come first. Search order:

1. the configured file (``LIVESLICE_FONT``), as is;
2. a Simplified face from fontconfig (``:lang=zh-cn``), then from the well-known system paths;
3. the bundled GB2312 subset of Noto Sans SC (``studio/font_data``, made by
   ``scripts/make_font_subset.py``), so a machine with only pip still draws Simplified forms;
4. any other face from fontconfig or the system paths (Traditional, Japanese…);
5. the ``cvttf-NotoSansCJK-Regular`` pip package (Noto Sans CJK **TC**), as a last resort.

Every candidate must pass :func:`has_cjk_glyphs`: tofu boxes are a bug, never a fallback. Characters
outside a subset are drawn by :func:`find_fallback_font`'s font (see ``studio.cards.text``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape

from studio.errors import ToolchainError

if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = [
    "BUNDLED_FONT",
    "FONT_SUFFIXES",
    "PACKAGE_FONT_FILE",
    "PACKAGE_MODULE",
    "SYSTEM_FONT_PATHS",
    "FontChoice",
    "find_cjk_font",
    "find_fallback_font",
    "font_faces",
    "has_cjk_glyphs",
    "prefers_simplified",
    "write_fonts_conf",
]

FontSource = Literal["configured", "fontconfig", "system", "bundled", "package"]
FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc"})
PACKAGE_MODULE = "cvttf_NotoSansCJK_Regular"
PACKAGE_FONT_FILE = "NotoSansCJKtc-Regular.otf"
BUNDLED_FONT = Path(__file__).resolve().parent / "font_data" / "NotoSansSC-Regular-subset.otf"
SYSTEM_FONT_PATHS: tuple[Path, ...] = tuple(
    Path(p)
    for p in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch noto-fonts-cjk
        "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",  # Fedora
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-*
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/System/Library/Fonts/PingFang.ttc",  # macOS
        "/System/Library/Fonts/STHeiti Medium.ttc",
        "C:/Windows/Fonts/msyh.ttc",  # Windows
    )
)
FIX_HINT = (
    "install one: `pip install cvttf-NotoSansCJK-Regular`, or `apt-get install fonts-noto-cjk`, "
    "or point LIVESLICE_FONT=/path/to/font.otf at a font with Chinese glyphs"
)
_TOFU = "\U0010fffd"  # a private-use codepoint no font assigns: renders as the missing-glyph box
_SIMPLIFIED = re.compile(
    r"\b(SC|CN|GB|Hans)\b|WenQuanYi|wqy|Simplified|PingFang SC|YaHei|SimHei|SimSun|Droid Sans Fallback", re.I
)
_REGULAR_STYLES = {"regular", "book", "normal", "medium", "roman"}


@dataclass(frozen=True)
class FontChoice:
    """A font that draws Chinese. ``index`` is the face inside a .ttc collection (0 for a single font)."""

    path: Path
    family: str
    source: FontSource
    simplified: bool
    index: int = 0


def prefers_simplified(family: str) -> bool:
    """True when a family name says it prefers Simplified Chinese forms (…CJK SC, WenQuanYi, YaHei…)."""
    return bool(_SIMPLIFIED.search(family))


def font_faces(path: Path) -> list[tuple[int, str, str]]:
    """``(index, family, style)`` of every face in a font file (one for .ttf/.otf, several for .ttc)."""
    from PIL import ImageFont  # Pillow only when a font is read

    faces: list[tuple[int, str, str]] = []
    for index in range(64):
        try:
            family, style = ImageFont.truetype(str(path), size=12, index=index).getname()
        except OSError:
            break
        faces.append((index, family or "", style or ""))
    return faces


def has_cjk_glyphs(path: Path, sample: str = "保湿面霜上链接", *, index: int = 0) -> bool:
    """Render ``sample`` with Pillow: each character must draw something, unlike the missing-glyph box,
    and distinct characters must draw distinct bitmaps."""
    from PIL import ImageFont  # Pillow only when a font is read

    try:
        font = ImageFont.truetype(str(path), size=48, index=index)
        tofu = _bitmap(font, _TOFU)
        seen: set[tuple[tuple[int, int], bytes]] = set()
        for char in dict.fromkeys(sample):
            if char.isspace():
                continue
            bitmap = _bitmap(font, char)
            if bitmap == tofu or not any(bitmap[1]) or bitmap in seen:
                return False
            seen.add(bitmap)
    except OSError:
        return False
    return bool(seen)


def _bitmap(font: ImageFont.FreeTypeFont, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text, mode="L")
    width, height = mask.size
    return (width, height), bytes(mask)


def find_cjk_font(
    configured: Path | None = None,
    *,
    use_fontconfig: bool = True,
    system_paths: Sequence[Path] = SYSTEM_FONT_PATHS,
    use_bundled: bool = True,
    use_package: bool = True,
) -> FontChoice:
    """The font to draw Chinese with; see the module docstring for the search order.

    A ``configured`` path that is missing, not a font, or without Chinese glyphs raises
    :class:`ToolchainError` naming it (no silent fallback). Finding nothing raises
    :class:`ToolchainError` whose message says how to install one.
    """
    if configured is not None:
        return _configured(Path(configured))
    others: list[FontChoice] = []  # Traditional, Japanese… faces: used only when nothing better is found
    found = _from_fontconfig() if use_fontconfig else None
    for path in (None, *system_paths):
        choice = found if path is None else _from_file(Path(path), "system")
        if choice is not None and choice.simplified:
            return choice
        if choice is not None:
            others.append(choice)
    if use_bundled:
        bundled = _from_file(BUNDLED_FONT, "bundled")
        if bundled is not None:
            return bundled
    if others:
        return others[0]
    if use_package:
        package = _package_font()
        if package is not None:
            choice = _from_file(package, "package")
            if choice is not None:
                return choice
    hint = f"the bundled {BUNDLED_FONT.name} is missing (a broken install?); " if use_bundled else ""
    raise ToolchainError(f"no font with Chinese (CJK) glyphs found; {hint}{FIX_HINT}")


@lru_cache(maxsize=8)
def find_fallback_font(primary: Path) -> FontChoice | None:
    """A font with a wider character set than ``primary``, for characters ``primary`` lacks (a rare
    hanzi outside the bundled GB2312 subset): the ``cvttf-NotoSansCJK-Regular`` package font (Noto Sans
    CJK TC, which also has Simplified forms through ``locl``), else the first full system CJK font."""
    primary = Path(primary).resolve()
    package = _package_font()
    for path in (*((package,) if package else ()), *SYSTEM_FONT_PATHS):
        if path.resolve() == primary:
            continue
        choice = _from_file(path, "package" if path == package else "system")
        if choice is not None:
            return choice
    return None


def _configured(path: Path) -> FontChoice:
    if not path.is_file():
        raise ToolchainError(f"configured font {path} does not exist (LIVESLICE_FONT); {FIX_HINT}")
    if path.suffix.lower() not in FONT_SUFFIXES or not font_faces(path):
        raise ToolchainError(f"configured font {path} is not a font file (.ttf, .otf, .ttc or .otc)")
    choice = _from_file(path, "configured")
    if choice is None:
        raise ToolchainError(f"configured font {path} has no Chinese glyphs (they would show as boxes); {FIX_HINT}")
    return choice


def _from_file(path: Path, source: FontSource) -> FontChoice | None:
    """The best face of ``path`` (Simplified, regular weight first) that draws Chinese, if any."""
    if not path.is_file():
        return None
    faces = sorted(font_faces(path), key=lambda f: (not prefers_simplified(f[1]), not _regular(f[2]), f[0]))
    for index, family, _style in faces:
        if has_cjk_glyphs(path, index=index):
            return FontChoice(
                path=path, family=family, source=source, simplified=prefers_simplified(family), index=index
            )
    return None


def _regular(style: str) -> bool:
    return style.strip().lower() in _REGULAR_STYLES


def _from_fontconfig() -> FontChoice | None:
    """The best face fontconfig knows for ``zh-cn`` that draws Chinese: Simplified, regular weight first."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, "--format", "%{file}\t%{index}\t%{family[0]}\t%{style[0]}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows: list[tuple[Path, int, str, str]] = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0]:
            continue
        file, face, family, style = parts
        rows.append((Path(file), int(face) if face.isdigit() else 0, family, style))
    rows.sort(key=lambda r: (not prefers_simplified(r[2]), not _regular(r[3]), str(r[0]), r[1]))
    for path, index, family, _style in rows:
        if path.is_file() and has_cjk_glyphs(path, index=index):
            return FontChoice(
                path=path, family=family, source="fontconfig", simplified=prefers_simplified(family), index=index
            )
    return None


def _package_font() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / PACKAGE_FONT_FILE
        if candidate.is_file():
            return candidate
    return None


def write_fonts_conf(font: Path, directory: Path, *, family: str | None = None) -> Path:
    """Write ``directory/fonts.conf`` (atomically) so libass finds ``font`` via ``FONTCONFIG_FILE``.

    The config scans only the font's folder and keeps its cache in ``directory/fontconfig-cache``.
    With ``family``, the generic names (sans-serif, serif, Arial…) map to it as well.
    """
    font = Path(font).absolute()
    if not font.is_file():
        raise ToolchainError(f"font {font} does not exist")
    directory = Path(directory).absolute()
    cache = directory / "fontconfig-cache"
    cache.mkdir(parents=True, exist_ok=True)
    aliases = ""
    if family:
        for generic in ("sans-serif", "serif", "monospace", "Sans", "Arial", "Helvetica"):
            aliases += (
                f'  <alias binding="same"><family>{escape(generic)}</family>'
                f"<prefer><family>{escape(family)}</family></prefer></alias>\n"
            )
    text = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        f"  <dir>{escape(str(font.parent))}</dir>\n"
        f"  <cachedir>{escape(str(cache))}</cachedir>\n"
        f"{aliases}"
        "</fontconfig>\n"
    )
    target = directory / "fonts.conf"
    fd, tmp = tempfile.mkstemp(prefix=".fonts.conf.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
