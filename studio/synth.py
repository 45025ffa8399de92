"""Synthetic live-stream media: one ffmpeg run that renders a sample live-commerce recording.

Pure builders (:func:`sample_stream_graph`, :func:`sample_stream_args`) turn a :class:`StreamSpec`
(scenes, speech spurts, cheer bursts) into ffmpeg arguments; :func:`render_sample_stream` runs them
through :func:`studio.ffmpeg.run_ffmpeg` and writes the file atomically. Nothing here knows about
products, databases or the web: ``services.sample_data`` fills the spec.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from studio.errors import StudioError
from studio.ffmpeg import ProgressCallback, run_ffmpeg

SYNTH_RATE = 8000  # voice and music are synthesised at 8 kHz (cheap per-sample expressions), then resampled
CHEER_RATE = 16000
AUDIO_RATE = 48000
# The voice: a sawtooth "glottal" source (every harmonic, falling 6 dB per octave, as in voiced speech)
# cut into syllables by a deep raised-sine envelope at a wandering 3.5-4.7 Hz, with a pitch that drifts
# around 200 Hz (about 110-290 Hz) and rises and falls within each syllable (a tone contour), then given
# three formant peaks. Broadband and changing every syllable, as speech is: a few steady harmonics
# would look like a held musical note to any voice detector.
_SYLLABLES = "(4.1*t+0.5*sin(2*PI*0.23*t))"
_PITCH_CYCLES = f"(200*t+15*sin(2*PI*0.45*t)+2.5*sin(2*PI*1.7*t)+sin(2*PI*{_SYLLABLES}))"
VOICE_EXPR = f"(2*mod({_PITCH_CYCLES},1)-1)*(0.03+0.97*pow(sin(PI*{_SYLLABLES}),2))"
FORMANTS = ((700, 1.5, 12), (1300, 2.0, 9), (2600, 2.5, 7))  # (Hz, Q, gain dB)
VOICE_GAIN = 0.15  # about -20 dBFS RMS while speaking
# The music: a sawtooth triad (broadband, like a synth pad) stepping through I-vi-IV-V every 2 s, each
# chord fading in from silence (no click), over a kick on every beat and a noisy off-beat hi-hat.
CHORD_STEPS = (1.0, 0.8409, 0.6674, 0.7492)  # root multipliers: 0, -3, -7, -5 semitones
CHORD_SECONDS = 2.0
MUSIC_GAIN = 0.05  # about -35 dBFS RMS: some 15 dB under the voice
_COLOUR = re.compile(r"^(?:0x|#)?[0-9a-fA-F]{6}$")


class SynthSpecError(StudioError, ValueError):
    """A stream spec is unusable (overlapping scenes, spans outside the stream, bad colour...)."""


@dataclass(frozen=True)
class Span:
    """A time span in seconds, ``start < end``."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Scene:
    """A stretch of the stream with its own background colour and text lines.

    ``title`` is drawn large (e.g. the product name), ``lines`` smaller below it (price, coupon).
    ``colour`` is ``RRGGBB`` hex (``#``/``0x`` prefix allowed).
    """

    start: float
    end: float
    colour: str
    title: str = ""
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamSpec:
    """Everything the renderer needs; times are seconds from the start of the stream.

    Time not covered by ``scenes`` shows ``background``. ``speech`` spurts get a synthetic voice
    (broadband, in syllables); ``cheers`` get loud crowd noise; music plays for the whole ``duration``,
    its chord progression starting on ``music_chord`` (Hz).
    """

    duration: float
    scenes: tuple[Scene, ...] = ()
    speech: tuple[Span, ...] = ()
    cheers: tuple[Span, ...] = ()
    background: str = "1A1A2E"
    channel_name: str = ""
    seed: int = 7
    music_chord: tuple[float, ...] = (220.0, 277.18, 329.63)


class HasStreamSpec(Protocol):
    """Anything that can describe itself as a :class:`StreamSpec` (e.g. a sample plan)."""

    def stream_spec(self) -> StreamSpec: ...


def _spec_of(plan: StreamSpec | HasStreamSpec) -> StreamSpec:
    return plan if isinstance(plan, StreamSpec) else plan.stream_spec()


def _colour(value: str) -> str:
    if not _COLOUR.match(value):
        raise SynthSpecError(f"colour must be RRGGBB hex, got {value!r}")
    return "0x" + value[-6:].upper()


def validate_spec(spec: StreamSpec) -> None:
    """Raise :class:`SynthSpecError` unless scenes are ordered, disjoint and inside the stream."""
    if not spec.duration > 0:
        raise SynthSpecError(f"duration must be positive, got {spec.duration}")
    _colour(spec.background)
    previous_end = 0.0
    for scene in spec.scenes:
        _colour(scene.colour)
        if not 0 <= scene.start < scene.end <= spec.duration:
            raise SynthSpecError(f"scene {scene.title!r} [{scene.start}, {scene.end}] is outside 0..{spec.duration}")
        if scene.start < previous_end:
            raise SynthSpecError(f"scene {scene.title!r} starts at {scene.start}, before the previous one ends")
        previous_end = scene.end
    for name, spans in (("speech", spec.speech), ("cheers", spec.cheers)):
        for span in spans:
            if not 0 <= span.start < span.end <= spec.duration:
                raise SynthSpecError(f"{name} span [{span.start}, {span.end}] is outside 0..{spec.duration}")


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def _balanced_sum(terms: Sequence[str]) -> str:
    # ffmpeg's expression evaluator gives up on long flat sums (~90 terms); nest them as a tree.
    if len(terms) <= 8:
        return "+".join(terms)
    half = len(terms) // 2
    return f"({_balanced_sum(terms[:half])})+({_balanced_sum(terms[half:])})"


def gate_expr(spans: Sequence[Span]) -> str:
    """A ``volume`` expression that is 1 inside any span and 0 elsewhere."""
    if not spans:
        return "0"
    return f"gt({_balanced_sum([f'between(t,{_num(s.start)},{_num(s.end)})' for s in spans])},0)"


def escape_text(text: str) -> str:
    """Escape ``text`` for a drawtext ``text=`` value inside a filtergraph (two parsing levels)."""
    option_level = re.sub(r"([\\':=])", r"\\\1", text)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option_level)


def _escape_path(path: Path) -> str:
    return escape_text(str(path))


def _pieces(spec: StreamSpec) -> list[tuple[float, float, Scene | None]]:
    """The stream tiled into (start, end, scene); ``None`` is background filler between scenes."""
    pieces: list[tuple[float, float, Scene | None]] = []
    cursor = 0.0
    for scene in spec.scenes:
        if scene.start > cursor + 1e-6:
            pieces.append((cursor, scene.start, None))
        pieces.append((scene.start, scene.end, scene))
        cursor = scene.end
    if cursor < spec.duration - 1e-6:
        pieces.append((cursor, spec.duration, None))
    return pieces


def _still_filters(spec: StreamSpec, scene: Scene | None, width: int, height: int, font: Path | None) -> list[str]:
    """Static layers of one piece (product card, texts), drawn once and looped."""
    filters: list[str] = []
    if scene is not None:
        filters.append(f"drawbox=x=0:y={height * 18 // 25}:w={width}:h={height // 5}:color=0xF4F4F4:t=fill")
    if font is None:
        return filters
    fontfile = _escape_path(font)
    if spec.channel_name:
        filters.append(
            f"drawtext=fontfile={fontfile}:expansion=none:fontcolor=white:fontsize={height // 40}"
            f":x={width // 24}:y={height // 40}:text={escape_text('● 直播中 LIVE  ' + spec.channel_name)}"
        )
    if scene is None:
        return filters
    base = f"drawtext=fontfile={fontfile}:expansion=none:fontcolor=0x202020:x=(w-tw)/2"
    if scene.title:
        filters.append(f"{base}:fontsize={height // 28}:y={height * 745 // 1000}:text={escape_text(scene.title)}")
    for row, line in enumerate(scene.lines):
        filters.append(f"{base}:fontsize={height // 42}:y={height * (800 + 40 * row) // 1000}:text={escape_text(line)}")
    return filters


def _video_chain(spec: StreamSpec, width: int, height: int, fps: int, font: Path | None) -> list[str]:
    chains = []
    pieces = [(round(end * fps) - round(start * fps), scene) for start, end, scene in _pieces(spec)]
    pieces = [(frames, scene) for frames, scene in pieces if frames > 0]  # slivers shorter than a frame
    for i, (frames, scene) in enumerate(pieces):
        colour = _colour(scene.colour if scene else spec.background)
        # One frame is composed, then repeated by reference: static layers cost nothing per frame.
        layers = ",".join(
            [
                f"color=c={colour}:s={width}x{height}:r={fps}",
                "trim=end_frame=1",
                *_still_filters(spec, scene, width, height, font),
                f"loop=loop={frames - 1}:size=1",
                f"settb=1/{fps}",
                "setpts=N",
                "format=yuv420p",
            ]
        )
        chains.append(f"{layers}[bg{i}]")
    labels = "".join(f"[bg{i}]" for i in range(len(pieces)))
    chains.append(f"{labels}concat=n={len(pieces)}:v=1:a=0[bg]")
    # A "host" (body and head) swaying side to side, and a small animated product shot beside them.
    body_w, body_h, head = width * 5 // 12, height * 2 // 5, width * 5 // 24
    dur = _num(spec.duration)
    sway = "(W-w)/2+W/8*sin(2*PI*t/7)"
    chains += [
        f"color=c=0x2B2B3A:s={body_w}x{body_h}:r={fps}:d={dur}[body]",
        f"color=c=0xE9C4A4:s={head}x{head * 6 // 5}:r={fps}:d={dur}[head]",
        f"testsrc2=s={width // 6}x{width // 6}:r={fps}:d={dur},scale={width // 3}:{width // 3}:flags=neighbor[shot]",
        f"[bg][body]overlay=x='{sway}':y=H*0.31+H/100*sin(2*PI*t/1.9):eval=frame[v1]",
        f"[v1][head]overlay=x='{sway}+W/60*sin(2*PI*t/2.3)':y=H*0.31-h-{height // 80}:eval=frame[v2]",
        f"[v2][shot]overlay=x=W-w-{width // 24}:y=H*0.36:eval=frame[v3]",
    ]
    tail = ["format=yuv420p"]
    if font is not None:
        tail.insert(
            0,
            f"drawtext=fontfile={_escape_path(font)}:fontcolor=white:fontsize={height // 40}"
            f":x=w-tw-{width // 24}:y={height // 40}:text='%{{pts\\:hms}}'",
        )
    chains.append("[v3]" + ",".join(tail) + "[v]")
    return chains


def music_expr(chord: Sequence[float]) -> str:
    """aevalsrc expression of the background music, built on ``chord`` (Hz) as the first chord."""
    step = f"mod(t,{_num(CHORD_SECONDS * len(CHORD_STEPS))})"
    root = "".join(f"if(lt({step},{_num(CHORD_SECONDS * (i + 1))}),{k}," for i, k in enumerate(CHORD_STEPS[:-1]))
    root += f"{CHORD_STEPS[-1]}" + ")" * (len(CHORD_STEPS) - 1)
    since = f"mod(t,{_num(CHORD_SECONDS)})"
    saws = "+".join(f"2*mod({_num(f)}*ld(1)*t,1)-1" for f in chord)  # variable 1 holds the root
    pad = f"(1-exp(-40*{since}))*(0.55+0.45*exp(-2*{since}))*({saws})/{len(chord)}"
    kick = "1.2*sin(2*PI*55*t)*exp(-18*mod(t,0.5))"
    hat = "0.25*(2*random(0)-1)*exp(-40*mod(t+0.25,0.5))"  # random() keeps its state in variable 0
    return f"st(1,{root});{pad}+{kick}+{hat}"


def _source(expr: str, dur: str) -> str:
    return f"aevalsrc=exprs='{expr}':s={SYNTH_RATE}:d={dur}:n={SYNTH_RATE // 50}"


def _audio_chain(spec: StreamSpec) -> list[str]:
    dur = _num(spec.duration)
    formants = ",".join(f"equalizer=f={f}:t=q:w={q}:g={g}" for f, q, g in FORMANTS)
    chains = [
        f"{_source(VOICE_EXPR, dur)},{formants},volume='{gate_expr(spec.speech)}':eval=frame,"
        f"volume={VOICE_GAIN},aresample={AUDIO_RATE}[speech]",
        f"{_source(music_expr(spec.music_chord or (220.0,)), dur)},volume={MUSIC_GAIN},aresample={AUDIO_RATE}[music]",
    ]
    inputs = "[speech][music]"
    if spec.cheers:
        # Crowd noise, soft-clipped so it is loud (about -10 dBFS RMS) without clipping.
        chains.append(
            f"anoisesrc=c=pink:a=1:r={CHEER_RATE}:d={dur}:seed={spec.seed}:n={CHEER_RATE // 50},"
            f"volume='{gate_expr(spec.cheers)}':eval=frame,volume=1.8,asoftclip=type=tanh,"
            f"aresample={AUDIO_RATE}[cheer]"
        )
        inputs += "[cheer]"
    count = inputs.count("[")
    chains.append(
        f"{inputs}amix=inputs={count}:normalize=0:duration=first,"
        f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo[a]"
    )
    return chains


def sample_stream_graph(
    plan_like: StreamSpec | HasStreamSpec,
    *,
    width: int = 720,
    height: int = 1280,
    fps: int = 25,
    font: Path | None = None,
) -> str:
    """The filtergraph (outputs ``[v]`` and ``[a]``) for a sample stream; text is drawn only with ``font``."""
    spec = _spec_of(plan_like)
    validate_spec(spec)
    if width % 2 or height % 2 or width < 96 or height < 96:
        raise SynthSpecError(f"size must be even and at least 96x96, got {width}x{height}")
    if not 1 <= fps <= 60:
        raise SynthSpecError(f"fps must be 1..60, got {fps}")
    return ";\n".join([*_video_chain(spec, width, height, fps, font), *_audio_chain(spec)])


def sample_stream_args(
    plan_like: StreamSpec | HasStreamSpec,
    out: Path,
    *,
    width: int = 720,
    height: int = 1280,
    fps: int = 25,
    font: Path | None = None,
    graph_file: Path | None = None,
) -> list[str]:
    """ffmpeg arguments rendering the sample stream to ``out`` (MP4: H.264 + AAC 48 kHz, +faststart).

    The graph is inline (``-filter_complex``) unless ``graph_file`` is given: then the caller has
    written :func:`sample_stream_graph` there, and ffmpeg 9's ``-/filter_complex FILE`` reads it.
    """
    spec = _spec_of(plan_like)
    graph = sample_stream_graph(spec, width=width, height=height, fps=fps, font=font)
    graph_args = ["-/filter_complex", str(graph_file)] if graph_file else ["-filter_complex", graph]
    return [
        "-y",
        *graph_args,
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(fps * 2),
        "-r",
        str(fps),
        "-c:a",
        "aac",
        "-aac_coder",
        "fast",  # the default coder spends several times longer on broadband synthetic audio
        "-b:a",
        "96k",
        "-ar",
        str(AUDIO_RATE),
        "-ac",
        "2",
        "-t",
        _num(spec.duration),
        "-movflags",
        "+faststart",
        str(out),
    ]


def render_sample_stream(
    plan: StreamSpec | HasStreamSpec,
    out: Path,
    *,
    font: Path,
    on_progress: ProgressCallback | None = None,
    width: int = 720,
    height: int = 1280,
    fps: int = 25,
    timeout: float | None = None,
) -> Path:
    """Render the sample stream to ``out`` atomically (temp file with the same suffix, then rename)."""
    spec = _spec_of(plan)
    if not font.is_file():
        raise SynthSpecError(f"font file not found: {font}")
    out.parent.mkdir(parents=True, exist_ok=True)
    graph = sample_stream_graph(spec, width=width, height=height, fps=fps, font=font)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".part{out.suffix}", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    graph_path = tmp.with_suffix(".graph.txt")
    try:
        graph_path.write_text(graph, encoding="utf-8")
        args = sample_stream_args(spec, tmp, width=width, height=height, fps=fps, font=font, graph_file=graph_path)
        run_ffmpeg(args, duration=spec.duration, on_progress=on_progress, timeout=timeout)
        tmp.chmod(0o644)  # mkstemp made it private; the result is an ordinary media file
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        graph_path.unlink(missing_ok=True)
    return out
