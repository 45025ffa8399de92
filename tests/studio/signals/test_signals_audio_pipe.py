"""The audio decode: the regrouped graph yields exactly the samples of a plain ``-ac 1 -ar`` decode, the
per-tick features do not depend on chunking, and one run decodes once."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.ffmpeg import resolve_ffmpeg, run_ffmpeg
from studio.signals.audio import audio_pipe_args, tick_features


@pytest.fixture(scope="module")
def stereo_aac(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7.3 s of stereo 48 kHz AAC (different tones left and right) under a small video."""
    out = tmp_path_factory.mktemp("pipe") / "stereo.mp4"
    tones = "0.4*sin(2*PI*330*t)|0.3*sin(2*PI*1250*t)*sin(2*PI*3*t)"
    sources = ["-f", "lavfi", "-i", f"aevalsrc='{tones}':s=48000:d=7.3", "-f", "lavfi", "-i", "color=s=64x64:r=5:d=7.3"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]
    run_ffmpeg(["-y", *sources, "-map", "1:v", "-map", "0:a", *codecs, str(out)])
    return out


def _decode(args: list[str]) -> np.ndarray:
    cmd = [str(resolve_ffmpeg()), "-hide_banner", "-nostdin", *args]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype="<f4")


@pytest.mark.parametrize("rate", [8000, 16000])
def test_regrouped_graph_gives_the_plain_decode_bit_for_bit(stereo_aac: Path, rate: int) -> None:
    plain = ["-loglevel", "error", "-i", str(stereo_aac), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate)]
    expected = _decode([*plain, "-f", "f32le", "pipe:1"])
    got = _decode(audio_pipe_args(stereo_aac, rate))
    assert got.size == expected.size > 7 * rate  # the last, partial frame is kept (no padding)
    np.testing.assert_array_equal(got, expected)


def test_tick_features_do_not_depend_on_how_the_stream_is_cut() -> None:
    """Features are per tick, so any cut between ticks (the decode's chunks) gives the same arrays."""
    rng = np.random.default_rng(3)
    per_tick = 800
    frames = (rng.standard_normal((97, per_tick)) * np.linspace(0.001, 0.5, 97)[:, None]).astype(np.float32)
    whole = tick_features(frames, 8000)
    cuts = [0, 1, 30, 31, 64, 97]
    parts = [tick_features(frames[a:b], 8000) for a, b in itertools.pairwise(cuts)]
    for i, name in enumerate(("loudness", "bands", "flux")):
        np.testing.assert_allclose(np.concatenate([p[i] for p in parts]), whole[i], atol=1e-4, err_msg=name)


def test_one_decode_per_run_and_snapping_reuses_it(stereo_aac: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loudness, voice and the pauses cuts snap to all come from a single streamed decode."""
    from studio.highlights import detect_highlights
    from studio.signals import AnalysisInput
    from studio.signals import audio as audio_mod

    decodes: list[Path] = []
    real = audio_mod.iter_audio_chunks

    def counting(path: Path, sample_rate: int, chunk_samples: int) -> Iterator[np.ndarray]:
        decodes.append(path)
        return real(path, sample_rate, chunk_samples)

    monkeypatch.setattr(audio_mod, "iter_audio_chunks", counting)
    inp = AnalysisInput(duration=7.3, media_path=stereo_aac)
    result = detect_highlights(inp, clips=1, preset="audio-only", min_len=2.0, max_len=4.0)
    assert decodes == [stereo_aac]
    assert result.signals["loudness"].available and result.signals["voice"].available
