"""The pure ffmpeg argument builders, and ffmpeg accepting what they build."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import av
import pytest

from services.sample_data import SamplePlan, make_plan
from studio.ffmpeg import run_ffmpeg
from studio.synth import (
    CHORD_STEPS,
    FORMANTS,
    Scene,
    Span,
    StreamSpec,
    SynthSpecError,
    escape_text,
    gate_expr,
    music_expr,
    render_sample_stream,
    sample_stream_args,
    sample_stream_graph,
)


@pytest.fixture(scope="module")
def plan() -> SamplePlan:
    return make_plan()


def _graph(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def test_args_encode_a_faststart_mp4_of_the_full_duration(plan: SamplePlan, tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    args = sample_stream_args(plan, out, font=Path("/fonts/cjk.otf"))
    assert args[-1] == str(out)
    pairs = dict(itertools.pairwise(args))
    assert pairs["-t"] == "330"
    assert pairs["-c:v"] == "libx264" and pairs["-pix_fmt"] == "yuv420p"
    assert pairs["-c:a"] == "aac" and pairs["-ar"] == "48000"
    assert pairs["-movflags"] == "+faststart"
    assert [args[i + 1] for i, a in enumerate(args) if a == "-map"] == ["[v]", "[a]"]
    graph = _graph(args)
    assert "s=720x1280" in graph and "r=25" in graph
    # every frame of the 330 s is accounted for by the looped still pieces
    assert sum(int(n) + 1 for n in re.findall(r"loop=loop=(\d+)", graph)) == 330 * 25


def test_graph_draws_each_product_with_the_given_font(plan: SamplePlan, tmp_path: Path) -> None:
    graph = _graph(sample_stream_args(plan, tmp_path / "s.mp4", font=Path("/fonts/cjk.otf")))
    assert "drawtext=fontfile=/fonts/cjk.otf" in graph
    assert "drawtext" in graph and "fontfile=" in graph
    for product in plan.products:
        assert f"text={escape_text(product.name)}" in graph
        assert escape_text(f"直播价 ¥{product.price}") in graph
    no_text = _graph(sample_stream_args(plan, tmp_path / "s.mp4", font=None))
    assert "drawtext" not in no_text


def test_audio_gates_follow_the_planted_spans(plan: SamplePlan) -> None:
    graph = sample_stream_graph(plan)
    assert graph.count("between(t,") == len(plan.speech) + len(plan.decoys)
    first = plan.speech[0]
    assert f"between(t,{first.start:g},{first.end:g})" in graph
    assert "anoisesrc" in graph and graph.count("aevalsrc") == 2  # voice and music; the cheers are noise
    assert graph.count("equalizer=") == len(FORMANTS)


def test_music_steps_through_chords_built_on_the_spec_chord() -> None:
    expr = music_expr((220.0, 277.18, 329.63))
    assert expr.count("mod(220*ld(1)*t,1)") == 1 and "329.63*ld(1)" in expr  # one sawtooth per note
    assert expr.count("if(lt(") == len(CHORD_STEPS) - 1  # a root step per chord after the first


def test_size_fps_and_graph_file_options(plan: SamplePlan, tmp_path: Path) -> None:
    graph_file = tmp_path / "g.txt"
    args = sample_stream_args(plan, tmp_path / "s.mp4", width=360, height=640, fps=15, graph_file=graph_file)
    assert args[args.index("-/filter_complex") + 1] == str(graph_file)
    assert "-filter_complex" not in args
    assert args[args.index("-r") + 1] == "15"
    assert "s=360x640:r=15" in sample_stream_graph(plan, width=360, height=640, fps=15)


def test_gate_expr_nests_long_sums() -> None:
    assert gate_expr([]) == "0"
    assert gate_expr([Span(1, 2.5)]) == "gt(between(t,1,2.5),0)"
    many = gate_expr([Span(i, i + 0.5) for i in range(100)])
    assert many.count("between(") == 100 and "))+((" in many


def test_escape_text_escapes_both_parsing_levels() -> None:
    assert escape_text("满99减10") == "满99减10"
    assert escape_text("a:b") == "a\\\\:b"  # graph level turns \\ into \, option level \: into :
    assert escape_text("x,y") == "x\\,y"


@pytest.mark.parametrize(
    "spec",
    [
        StreamSpec(duration=10, scenes=(Scene(0, 5, "FF0000"), Scene(4, 8, "00FF00"))),
        StreamSpec(duration=10, scenes=(Scene(2, 12, "FF0000"),)),
        StreamSpec(duration=10, scenes=(Scene(0, 5, "red"),)),
        StreamSpec(duration=10, speech=(Span(9, 11),)),
        StreamSpec(duration=0),
    ],
)
def test_bad_specs_are_refused(spec: StreamSpec) -> None:
    with pytest.raises(SynthSpecError):
        sample_stream_graph(spec)


def test_odd_size_is_refused() -> None:
    with pytest.raises(SynthSpecError, match="even"):
        sample_stream_graph(StreamSpec(duration=1), width=721)


def test_ffmpeg_accepts_many_gates_and_awkward_text(tmp_path: Path, cjk_font: Path) -> None:
    # ffmpeg's evaluator rejects flat sums of ~90 terms; 300 spans must still work.
    spans = tuple(Span(round(i * 0.02, 3), round(i * 0.02 + 0.01, 3)) for i in range(300))
    title = "It's 50% off: [A,B]; x\\y = 1 {pts}"
    spec = StreamSpec(
        duration=6.5, scenes=(Scene(0, 3, "2E6FD8", title, ("满99减10 'q'",)),), speech=spans, cheers=spans[:5]
    )
    out = render_sample_stream(spec, tmp_path / "tiny.mp4", font=cjk_font, width=160, height=288, fps=5)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.width == 160
        assert container.duration is not None
        assert abs(container.duration / 1e6 - 6.5) < 0.25


def test_plain_run_without_font_works(tmp_path: Path) -> None:
    out = tmp_path / "plain.mp4"
    run_ffmpeg(sample_stream_args(StreamSpec(duration=1.0), out, width=96, height=160, fps=5))
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.sample_rate == 48000


def test_escaped_text_draws_exactly_what_a_textfile_draws(tmp_path: Path, cjk_font: Path) -> None:
    text = "It's 50% off: [A,B]; x\\y = 1 {pts} 满99减10"
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    font = escape_text(str(cjk_font))

    def draw(source: str, name: str) -> bytes:
        out = tmp_path / name
        graph = f"color=c=white:s=640x48:d=0.2,drawtext=fontfile={font}:expansion=none:fontsize=18:x=2:y=12:{source}"
        run_ffmpeg(["-y", "-filter_complex", graph, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", str(out)])
        return out.read_bytes()

    escaped = draw(f"text={escape_text(text)}", "a.raw")
    from_file = draw(f"textfile={escape_text(str(tmp_path / 't.txt'))}", "b.raw")
    assert escaped == from_file
    assert escaped != draw(f"text={escape_text(text[:-1])}", "c.raw")
