"""A short rendered sample: container facts, planted audio events, scene changes, atomic output."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from studio.errors import FFmpegTimeout
from studio.synth import Scene, StreamSpec, SynthSpecError, render_sample_stream


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        container.seek(int(seconds / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= seconds - 0.02:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {seconds}")


def test_container_is_portrait_h264_aac_48k_faststart(rendered_sample: Any) -> None:
    with av.open(str(rendered_sample.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (720, 1280)
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48000
        assert container.duration is not None
        assert abs(container.duration / 1e6 - rendered_sample.plan.duration) <= 0.2
        assert video.average_rate == 25
    head = rendered_sample.path.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")  # +faststart


def test_render_reports_progress_and_leaves_one_readable_file(rendered_sample: Any) -> None:
    last = rendered_sample.progress[-1]
    assert last.done and last.fraction == 1.0
    assert [p.name for p in rendered_sample.path.parent.iterdir()] == ["sample.mp4"]
    assert stat.S_IMODE(rendered_sample.path.stat().st_mode) == 0o644


def test_cheers_are_loud_speech_is_medium_pauses_keep_the_music(rendered_sample: Any) -> None:
    plan = rendered_sample.plan
    speech = [rendered_sample.rms(s.start + 0.1, s.end - 0.1) for s in plan.speech]
    cheer = rendered_sample.rms(plan.decoys[0].start + 0.15, plan.decoys[0].end - 0.15)
    assert cheer > 2.5 * max(speech)
    quiet = [p for p in plan.pauses if p.length >= 0.45 and not any(p.start <= d.start < p.end for d in plan.decoys)]
    assert quiet
    typical_speech = float(np.median(speech))
    for pause in quiet:
        level = rendered_sample.rms(pause.start + 0.1, pause.end - 0.1)
        assert 0.002 < level < 0.3 * typical_speech  # music continues under the pause, well below the voice


def test_speech_is_broadband_and_syllabic(rendered_sample: Any) -> None:
    """The synthetic voice is heard as speech: energy across the speech band, pulsing at a syllable rate."""
    rate = round(rendered_sample.audio.size / rendered_sample.plan.duration)  # the decode's sample rate
    spurts = [s for s in rendered_sample.plan.speech if s.length >= 2.0]
    assert spurts
    for spurt in spurts:
        voice = rendered_sample.audio[int(spurt.start * rate) : int(spurt.end * rate)].astype(np.float64)
        power = np.abs(np.fft.rfft(voice)) ** 2
        freqs = np.fft.rfftfreq(voice.size, 1 / rate)
        speech_band = power[(freqs >= 250) & (freqs < 3500)].sum()
        assert power[(freqs >= 1000) & (freqs < 3500)].sum() > 0.15 * speech_band  # not a few low harmonics
        hop = rate // 100  # a 10 ms energy envelope
        envelope = np.sqrt(np.mean(voice[: voice.size // hop * hop].reshape(-1, hop) ** 2, axis=1))
        modulation = np.abs(np.fft.rfft(envelope - envelope.mean()))
        mod_freqs = np.fft.rfftfreq(envelope.size, 0.01)
        above_drift = mod_freqs > 0.5
        assert 3.0 <= mod_freqs[above_drift][np.argmax(modulation[above_drift])] <= 6.0


def test_segments_are_distinct_scenes(rendered_sample: Any) -> None:
    first, second = rendered_sample.plan.segments
    a = _frame_at(rendered_sample.path, first.start + 2.0).reshape(-1, 3).mean(axis=0)
    b = _frame_at(rendered_sample.path, second.start + 2.0).reshape(-1, 3).mean(axis=0)
    assert np.abs(a - b).sum() > 100


def test_product_card_carries_drawn_text(rendered_sample: Any) -> None:
    seg = rendered_sample.plan.segments[0]
    card = _frame_at(rendered_sample.path, seg.start + 1.0)[930:1170]
    dark = (card.max(axis=2) < 90).mean()
    assert 0.01 < dark < 0.5  # text strokes on the light card


def test_failed_render_leaves_nothing(tmp_path: Path, cjk_font: Path) -> None:
    spec = StreamSpec(duration=600.0, scenes=(Scene(0, 600, "FF0000", "保湿面霜"),))
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(FFmpegTimeout):  # killed mid-write: the partial file must go too
        render_sample_stream(spec, out, font=cjk_font, width=96, height=160, fps=25, timeout=0.2)
    assert list(out.parent.iterdir()) == []
    with pytest.raises(SynthSpecError, match="font file not found"):
        render_sample_stream(spec, out, font=tmp_path / "missing.otf")
