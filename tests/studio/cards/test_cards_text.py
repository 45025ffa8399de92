"""CJK-aware line breaking for cards."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from studio.cards import DEFAULT_THEME, wrap_text
from studio.cards.text import ELLIPSIS, NO_LINE_START, text_width, tokenize

LANG = DEFAULT_THEME.text_language


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    return DEFAULT_THEME.font_at(40)


def test_tokenize_breaks_between_cjk_and_at_spaces_keeping_punctuation_attached() -> None:
    assert tokenize("保湿面霜 Hydrating Cream，好用！「限时」") == [
        "保",
        "湿",
        "面",
        "霜 ",
        "Hydrating ",
        "Cream，",
        "好",
        "用！",
        "「限",
        "时」",
    ]


@pytest.mark.parametrize("width", [120, 170, 230, 300, 420])
def test_wrapped_lines_fit_and_never_start_with_closing_punctuation(font: ImageFont.FreeTypeFont, width: int) -> None:
    text = "保湿面霜，补水！真的好用。「限时」抢购（新品）Hydrating Cream 超值？"
    lines = wrap_text(text, font, width, max_lines=20, language=LANG)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        assert text_width(line, font, LANG) <= width
        assert line[0] not in NO_LINE_START
        assert not line.endswith(("「", "（"))


def test_latin_words_are_not_split_when_they_fit(font: ImageFont.FreeTypeFont) -> None:
    width = text_width("Hydrating Cream", font, LANG) + 1
    lines = wrap_text("Hydrating Cream Deluxe", font, width, language=LANG, balance=False)
    assert lines == ["Hydrating Cream", "Deluxe"]
    assert wrap_text("Hydrating Cream Deluxe", font, width, language=LANG) == ["Hydrating", "Cream Deluxe"]


def test_a_word_longer_than_the_line_is_split_by_characters(font: ImageFont.FreeTypeFont) -> None:
    word = "Supercalifragilisticexpialidocious"
    lines = wrap_text(word, font, 200, max_lines=10, language=LANG)
    assert len(lines) > 1 and "".join(lines) == word
    assert all(text_width(line, font, LANG) <= 200 for line in lines)


def test_too_long_text_is_cut_to_max_lines_with_an_ellipsis(font: ImageFont.FreeTypeFont) -> None:
    text = "保湿面霜深层补水滋润修护敏感肌肤干皮救星大容量家庭装，冬天必备"
    lines = wrap_text(text, font, 300, max_lines=2, language=LANG)
    assert len(lines) == 2 and lines[1].endswith(ELLIPSIS)
    assert text.startswith(lines[0] + lines[1][:-1])
    assert all(text_width(line, font, LANG) <= 300 for line in lines)
    assert wrap_text("保湿面霜", font, 300, max_lines=2, language=LANG) == ["保湿面霜"]


@pytest.mark.parametrize("name", ["Hydrating Cream", "保湿面霜 Hydrating Cream", "Vitamin C Serum 30ml"])
def test_latin_words_break_only_at_spaces_at_every_width(font: ImageFont.FreeTypeFont, name: str) -> None:
    words = [w for w in name.split() if w.isascii()]
    widest = max(text_width(w, font, LANG) for w in words)
    for width in range(int(widest) + 1, int(text_width(name, font, LANG)) + 40, 7):
        lines = wrap_text(name, font, width, max_lines=10, language=LANG)
        assert "".join(lines).replace(" ", "") == name.replace(" ", "")
        for line in lines:
            for word in line.split():
                if word.isascii():
                    assert word in words, f"{word!r} is a piece of a word at width {width}: {lines}"


def test_ellipsis_cuts_at_a_word_boundary(font: ImageFont.FreeTypeFont) -> None:
    text = "Hydrating Cream Deluxe Edition"
    width = text_width("Hydrating Cream Delux" + ELLIPSIS, font, LANG)
    lines = wrap_text(text, font, width, max_lines=1, language=LANG)
    assert lines == ["Hydrating Cream" + ELLIPSIS]  # not "Hydrating Cream Delux…"
    assert wrap_text("Supercalifragilistic", font, 200, max_lines=1, language=LANG)[0].endswith(ELLIPSIS)


def test_cjk_breaks_between_characters_never_before_closing_punctuation(font: ImageFont.FreeTypeFont) -> None:
    text = "补水保湿，好用！限时抢购。"
    for width in range(int(text_width("补水", font, LANG)) + 1, int(text_width(text, font, LANG)), 5):
        lines = wrap_text(text, font, width, max_lines=20, language=LANG)
        assert "".join(lines) == text
        assert all(line[0] not in "，。！？、）】" for line in lines)
