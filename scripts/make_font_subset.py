"""Make ``studio/font_data/NotoSansSC-Regular-subset.otf``: the bundled Simplified Chinese default font.

Source: the "Noto Sans CJK SC" Regular face (index 2) of ``NotoSansCJK-Regular.ttc`` from Debian's
``fonts-noto-cjk`` package (SIL Open Font License 1.1), subset with fontTools to

* all of GB2312 (6763 hanzi, its symbols, kana, Greek, Cyrillic, box drawing…),
* ASCII, Latin-1, general punctuation, currency signs (¥ € ₩…), letterlike symbols (℃ №),
  number forms, arrows, enclosed numbers (①), geometric shapes and stars (★ ▶ ●), check marks,
  CJK symbols and punctuation, CJK compatibility forms, halfwidth and fullwidth forms,
* U+0336 (combining long stroke overlay, for struck-through prices).

Only horizontal layout features are kept (no ``vert``/``locl``: the SC face's default glyphs are
already the Simplified forms). The family is renamed "Noto Sans SC Subset" (OFL: a modified font
should not pose as the original; Noto CJK has no Reserved Font Name). The licence file next to the
font is the font's copyright line plus the OFL text from Debian's copyright file.

Usage (as root on Debian/Ubuntu; needs ``pip install fonttools``)::

    apt-get install -y fonts-noto-cjk
    python scripts/make_font_subset.py            # writes studio/font_data/
    python scripts/make_font_subset.py --check    # prints the size and coverage of the result
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
OUT_DIR = Path(__file__).resolve().parent.parent / "studio" / "font_data"
OUT_FONT = "NotoSansSC-Regular-subset.otf"
OUT_LICENCE = "NotoSansSC-OFL.txt"
FAMILY = "Noto Sans SC Subset"
POSTSCRIPT = "NotoSansSCSubset-Regular"
LAYOUT_FEATURES = ["ccmp", "liga", "calt", "kern", "mark", "palt", "halt", "fwid", "hwid", "pwid"]
EXTRA_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement (¥ £ © ® ° ± × ÷ é…)
    (0x0336, 0x0336),  # combining long stroke overlay (struck-through prices)
    (0x2000, 0x206F),  # general punctuation (– — ‘ ’ “ ” … ‰ ※)
    (0x20A0, 0x20CF),  # currency symbols (€ ₩ ₹…)
    (0x2100, 0x214F),  # letterlike symbols (℃ № ™)
    (0x2150, 0x218F),  # number forms (Ⅰ Ⅱ ½)
    (0x2190, 0x21FF),  # arrows
    (0x2460, 0x24FF),  # enclosed alphanumerics (① ⑴ ⒈)
    (0x25A0, 0x25FF),  # geometric shapes (■ □ ▲ ▶ ● ◆)
    (0x2600, 0x26FF),  # miscellaneous symbols (★ ☆ ♥)
    (0x2700, 0x27BF),  # dingbats (✓ ✔ ✕)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3200, 0x32FF),  # enclosed CJK letters and months (㈠ ㊣)
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms (，！（）￥)
)


def gb2312_codepoints() -> set[int]:
    """Every character GB2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    chars: set[int] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def wanted_codepoints() -> set[int]:
    """GB2312 plus :data:`EXTRA_RANGES`."""
    chars = gb2312_codepoints()
    for start, end in EXTRA_RANGES:
        chars.update(range(start, end + 1))
    return chars


def face_index(path: Path, family: str) -> int:
    """The index of the face named ``family`` in the collection ``path``."""
    for index in range(64):
        try:
            font = TTFont(path, fontNumber=index, lazy=True)
        except Exception:  # past the last face
            break
        if font["name"].getDebugName(1) == family:
            return index
    raise SystemExit(f"{path} has no face named {family!r}")


def rename(font: TTFont) -> None:
    """Give the subset its own family name (OFL: modified versions are not the original)."""
    name = font["name"]
    version = name.getDebugName(5) or ""
    for record in list(name.names):
        if record.nameID in (16, 17, 21, 22):
            name.removeNames(nameID=record.nameID)
    name.setName(FAMILY, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{version.split(';')[0]};{POSTSCRIPT};GB2312 subset", 3, 3, 1, 0x409)
    name.setName(FAMILY, 4, 3, 1, 0x409)
    name.setName(f"{version}; GB2312 subset of {SOURCE_FAMILY}", 5, 3, 1, 0x409)
    name.setName(POSTSCRIPT, 6, 3, 1, 0x409)
    name.names = [r for r in name.names if r.platformID == 3]
    font["CFF "].cff.fontNames = [POSTSCRIPT]
    top = font["CFF "].cff.topDictIndex[0]
    for key in ("FullName", "FamilyName"):
        if hasattr(top, key):
            setattr(top, key, FAMILY)


def licence_text(font: TTFont) -> str:
    """The font's copyright line and the OFL 1.1 text (taken from Debian's copyright file)."""
    raw = DEBIAN_COPYRIGHT.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    match = re.search(r"^License: SIL-1\.1\n((?: .*\n?)+)", text, re.M)
    if match is None:
        raise SystemExit(f"no SIL-1.1 licence text in {DEBIAN_COPYRIGHT}")
    body = "\n".join("" if line.strip() == "." else line[1:] for line in match.group(1).splitlines())
    copyright_line = font["name"].getDebugName(0) or ""
    return (
        f"{OUT_FONT}: a subset of {SOURCE_FAMILY} Regular (Noto CJK, https://github.com/notofonts/noto-cjk)\n"
        f'made by scripts/make_font_subset.py. Renamed "{FAMILY}".\n\n'
        f"{copyright_line}\n\n{body.strip()}\n"
    )


def make(source: Path, out_dir: Path) -> Path:
    """Write the subset and its licence into ``out_dir``; returns the font's path."""
    index = face_index(source, SOURCE_FAMILY)
    font = TTFont(source, fontNumber=index)
    options = subset.Options()
    options.layout_features = LAYOUT_FEATURES
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    options.name_languages = [0x409]
    options.notdef_outline = True
    options.recalc_bounds = True
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted_codepoints())
    subsetter.subset(font)
    rename(font)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / OUT_FONT
    font.save(target)
    (out_dir / OUT_LICENCE).write_text(licence_text(font), encoding="utf-8")
    return target


def check(path: Path) -> int:
    """Print the size and coverage of ``path``; non-zero when part of GB2312 is missing."""
    font = TTFont(path)
    cmap = font.getBestCmap()
    missing = sorted(c for c in gb2312_codepoints() if c not in cmap)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(font.getGlyphOrder())} glyphs, {len(cmap)} characters")
    print(f"family {font['name'].getDebugName(1)!r}; GB2312 characters missing: {len(missing)}")
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="NotoSansCJK-Regular.ttc")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--check", action="store_true", help="only report on the existing subset")
    args = parser.parse_args(argv)
    target = args.out_dir / OUT_FONT
    if not args.check:
        if not args.source.is_file():
            raise SystemExit(f"{args.source} not found: apt-get install fonts-noto-cjk")
        target = make(args.source, args.out_dir)
    return check(target)


if __name__ == "__main__":
    sys.exit(main())
