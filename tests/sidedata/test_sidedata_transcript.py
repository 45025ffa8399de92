"""Transcript import: SRT and WebVTT."""

from __future__ import annotations

import re

import pytest

from sidedata import (
    EncodingError,
    SideDataImportError,
    TimeContext,
    TranscriptCue,
    UnsupportedFormatError,
    parse_side_data,
    parse_transcript,
)

SRT = """1
00:00:01,000 --> 00:00:03,500
{\\an8}<i>大家好</i>，欢迎来到直播间
Welcome <b>everyone</b>!

2
00:00:04,000 --> 00:00:06,000 X1:100 X2:200 Y1:10 Y2:20
这款 Hydrating Cream 只要 89 元

"""

VTT = """WEBVTT - 直播字幕
Kind: captions

STYLE
::cue { color: yellow }

NOTE 这是注释
跨两行的注释

intro
00:01.000 --> 00:03.500 align:start position:10% line:0
<v 主播>大家好</v> &amp; welcome
<c.highlight>上链接！</c> <00:02.000>now

00:00:04.000 --> 00:00:06.000
第二条
"""


def test_srt_gb18030_tags_and_multiline(ctx: TimeContext) -> None:
    result = parse_transcript(SRT.encode("gb18030"), "talk.srt", ctx=ctx)
    assert result.format == "srt"
    assert result.cues == [
        TranscriptCue(1.0, 3.5, "大家好，欢迎来到直播间\nWelcome everyone!"),
        TranscriptCue(4.0, 6.0, "这款 Hydrating Cream 只要 89 元"),
    ]


def test_vtt_gb18030_with_settings_note_style(ctx: TimeContext) -> None:
    result = parse_transcript(VTT.encode("gb18030"), "talk.txt", ctx=ctx)
    assert result.format == "vtt"
    assert result.cues == [
        TranscriptCue(1.0, 3.5, "大家好 & welcome\n上链接！ now"),
        TranscriptCue(4.0, 6.0, "第二条"),
    ]
    assert result.warnings == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_transcript_encodings_identical(encoding: str, ctx: TimeContext) -> None:
    expected = parse_transcript(SRT.encode("gb18030"), "a.srt", ctx=ctx).cues
    assert parse_transcript(SRT.replace("\n", "\r\n").encode(encoding), "a.srt", ctx=ctx).cues == expected


def test_cue_end_not_after_start_reports_line(ctx: TimeContext) -> None:
    data = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:05,000 --> 00:00:04,000\n坏\n".encode()
    with pytest.raises(SideDataImportError) as info:
        parse_transcript(data, "a.srt", ctx=ctx)
    assert str(info.value) == "a.srt:6: end: cue ends at 4 s, not after its start 5 s"


def test_bad_timestamp_and_no_cues(ctx: TimeContext) -> None:
    with pytest.raises(SideDataImportError, match=re.escape("a.srt:2: start: invalid timestamp '00:00:99,000'")):
        parse_transcript(b"1\n00:00:99,000 --> 00:01:00,000\nx\n", "a.srt", ctx=ctx)
    with pytest.raises(SideDataImportError, match="no subtitle cues found"):
        parse_transcript("只是一些文字\n".encode(), "a.srt", ctx=ctx)


def test_cues_sorted_and_out_of_range_dropped() -> None:
    data = (
        b"WEBVTT\n\n00:10.000 --> 00:12.000\nlate\n\n00:01.000 --> 00:02.000\nearly\n\n01:40.000 --> 01:42.000\nafter\n"
    )
    result = parse_transcript(data, "a.vtt", ctx=TimeContext(duration=60))
    assert [c.text for c in result.cues] == ["early", "late"]
    assert result.out_of_range == 1


def test_unknown_encoding_transcript(ctx: TimeContext) -> None:
    with pytest.raises(EncodingError):
        parse_transcript(b"1\n00:00:01,000 --> 00:00:02,000\n\x80\xff\n", "a.srt", ctx=ctx)


def test_facade_transcript_and_unknown_kind(ctx: TimeContext) -> None:
    result = parse_side_data("transcript", SRT.encode(), "a.srt", ctx=ctx)
    assert len(result.cues) == 2
    with pytest.raises(UnsupportedFormatError, match="unknown side-data kind"):
        parse_side_data("subtitles", b"", "a.srt")
