"""Caption layout: CJK line breaking, clip-time cues, ASS escaping and safe-zone margins (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidedata.records import TranscriptCue
from studio.render import ass_document, caption_style, clip_cues, escape_ass_text, get_preset, wrap_caption, write_ass
from studio.render.captions import CLOSING, OPENING, char_units

DOUYIN = get_preset("douyin")


def width(line: str) -> float:
    return sum(char_units(c) for c in line)


def test_cjk_breaks_between_characters_within_the_width() -> None:
    lines = wrap_caption("今天给大家推荐这款保湿面霜特别适合干皮的姑娘们", 10)
    assert "".join(lines) == "今天给大家推荐这款保湿面霜特别适合干皮的姑娘们"
    assert all(width(line) <= 10 for line in lines)
    assert [len(line) for line in lines] == [8, 8, 7]  # three lines, evenly filled


def test_no_line_starts_with_closing_or_ends_with_opening_punctuation() -> None:
    text = "这款面霜（限时特价）只要八十九元，买二送一！“真的很划算”。快来抢购吧"
    for limit in range(4, 14):
        lines = wrap_caption(text, limit)
        assert "".join(lines) == text
        assert not any(line[0] in CLOSING for line in lines[1:]), lines
        assert not any(line[-1] in OPENING for line in lines), lines


def test_latin_words_break_only_at_spaces() -> None:
    text = "This Hydrating Cream is great for dry skin"
    lines = wrap_caption(text, 5)
    assert " ".join(lines) == text
    assert all(width(line) <= 5 for line in lines)
    assert len(lines) > 2 and "Hydrating" in lines
    assert all(word in text.split() for line in lines for word in line.split())


def test_mixed_text_and_overlong_words() -> None:
    lines = wrap_caption("保湿面霜 Hydrating Cream 只要89元", 6)
    assert all(width(line) <= 6 for line in lines)
    assert "".join(lines).replace(" ", "") == "保湿面霜HydratingCream只要89元"
    long = wrap_caption("supercalifragilisticexpialidocious", 5)
    assert "".join(long) == "supercalifragilisticexpialidocious" and all(width(x) <= 5 for x in long)


def test_two_lines_are_balanced() -> None:
    lines = wrap_caption("今天给大家推荐这款保湿面霜，特别适合干皮", 14)
    assert len(lines) == 2
    assert abs(width(lines[0]) - width(lines[1])) <= 2


def test_cue_lines_join_without_spaces_between_cjk() -> None:
    assert wrap_caption("上链接\n快来买", 20) == ["上链接快来买"]
    assert wrap_caption("line one\nline two", 20) == ["line one line two"]


def test_cues_shift_to_clip_time_and_clip_to_the_window() -> None:
    cues = [
        TranscriptCue(1.0, 4.0, "在窗口之前"),  # before the window
        TranscriptCue(9.0, 11.0, "跨过开头"),  # crosses the start
        TranscriptCue(12.0, 13.5, "在里面"),
        TranscriptCue(19.5, 22.0, "跨过结尾"),  # crosses the end
        TranscriptCue(25.0, 26.0, "在之后"),
    ]
    out = clip_cues(cues, start=10.0, end=20.0, max_units=20)
    assert [(c.start, c.end, c.lines) for c in out] == [
        (0.0, 1.0, ("跨过开头",)),
        (2.0, 3.5, ("在里面",)),
        (9.5, 10.0, ("跨过结尾",)),
    ]


def test_long_cues_split_in_time_to_at_most_two_lines() -> None:
    text = "今天给大家推荐这款保湿面霜特别适合干皮的姑娘们使用效果非常好"
    out = clip_cues([TranscriptCue(0.0, 6.0, text)], start=0.0, end=6.0, max_units=8)
    assert len(out) == 2
    assert all(len(c.lines) <= 2 for c in out)
    assert out[0].start == 0.0 and out[-1].end == 6.0 and out[0].end == out[1].start
    assert "".join("".join(c.lines) for c in out) == text


def test_override_braces_and_backslashes_stay_literal() -> None:
    escaped = escape_ass_text(r"{\an8}价格\N{\b1}")
    assert "{" not in escaped.replace("\\{", "")
    assert "}" not in escaped.replace("\\}", "")
    assert "\\N" not in escaped and "\\a" not in escaped and "\\b" not in escaped


def test_style_follows_the_preset() -> None:
    style = caption_style(DOUYIN, "Noto Sans CJK SC")
    assert style.font_size == round(1080 * 0.06)
    assert style.margin_bottom > DOUYIN.safe_bottom  # above the caption bar / description
    assert style.margin_right > DOUYIN.safe_right  # clear of the like/comment rail
    assert style.margin_left > DOUYIN.safe_left
    assert style.outline > 0 and style.shadow > 0
    small = caption_style(DOUYIN.scaled(270, 480), "X")
    assert small.font_size == round(270 * 0.06)
    assert caption_style(DOUYIN, "X", extra_bottom=300).margin_bottom == style.margin_bottom + 300


def test_ass_document_has_resolution_style_and_explicit_breaks() -> None:
    style = caption_style(DOUYIN, "Noto Sans CJK SC")
    cues = clip_cues([TranscriptCue(0.5, 2.25, "第一行很长很长很长很长很长很长很长")], start=0, end=3, max_units=10)
    doc = ass_document(cues, DOUYIN, style)
    assert "PlayResX: 1080\nPlayResY: 1920\n" in doc
    assert "WrapStyle: 2" in doc
    assert "Language: zh-Hans" in doc  # libass shapes Simplified glyph forms
    assert f"Style: Default,Noto Sans CJK SC,{style.font_size}," in doc
    assert f",2,{style.margin_left},{style.margin_right},{style.margin_bottom},1\n" in doc
    dialogue = [line for line in doc.splitlines() if line.startswith("Dialogue:")]
    assert len(dialogue) == 1
    assert dialogue[0].startswith("Dialogue: 0,0:00:00.50,0:00:02.25,Default,,0,0,0,,")
    assert dialogue[0].count("\\N") == 1


def test_write_ass_counts_events_and_writes_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.ass"
    count = write_ass(
        [TranscriptCue(0.0, 1.0, "上链接"), TranscriptCue(50.0, 51.0, "outside")],
        path,
        start=0.0,
        end=10.0,
        preset=DOUYIN,
        font_family="Noto Sans CJK SC",
    )
    assert count == 1
    assert "上链接" in path.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".captions.*"))  # no temp file left behind


@pytest.mark.parametrize("name", ["douyin", "xiaohongshu", "square", "landscape"])
def test_caption_lines_fit_inside_the_safe_area(name: str) -> None:
    from studio.render.captions import line_capacity

    preset = get_preset(name)
    style = caption_style(preset, "X")
    capacity = line_capacity(preset, style)
    assert capacity * style.font_size <= preset.width - preset.safe_left - preset.safe_right
    assert capacity >= 8
