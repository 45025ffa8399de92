"""Loudness, voice activity and speech pauses on real (espeak-ng) speech over music."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from studio.errors import MediaError
from studio.signals import audio as audio_mod
from studio.signals.audio import analyze_audio, audio_pipe_args
from studio.signals.voice import hysteresis, speech_pauses, voice_activity

from .conftest import CHEER_AT, CHEER_LEN

TICK = 0.1


def _gaps(truth: dict[str, object]) -> list[tuple[float, float]]:
    spoken = truth["spoken"]
    assert isinstance(spoken, list)
    return [(a["end"], b["start"]) for a, b in itertools.pairwise(spoken)]


def test_pipe_args_decode_audio_only_mono_low_rate() -> None:
    args = audio_pipe_args(Path("in.mp4"), 8000)
    graph = args[args.index("-af") + 1].split(",")
    assert graph[:2] == ["aresample=8000", "aformat=sample_fmts=flt:channel_layouts=mono"]
    assert graph[2].startswith("asetnsamples=n=8000")  # one-second frames: few hand-offs and pipe writes
    assert "-vn" in args and args[-2:] == ["f32le", "pipe:1"]


def test_speech_pauses_from_array() -> None:
    voice = np.array([0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1], np.float32)
    assert speech_pauses(voice, 10.0, min_pause=0.25) == [(0.0, 0.3), (0.9, 1.3)]
    assert speech_pauses(voice, 10.0, min_pause=0.2) == [(0.0, 0.3), (0.5, 0.7), (0.9, 1.3)]
    assert speech_pauses(np.zeros(0, np.float32), 10.0) == []


def test_hysteresis_holds_state_between_thresholds() -> None:
    prob = np.array([0.5, 0.7, 0.5, 0.45, 0.3, 0.5, 0.65], np.float32)
    assert hysteresis(prob, 0.6, 0.4).tolist() == [False, True, True, True, False, False, True]


def test_pauses_over_music_lie_in_true_gaps(speech_over_music: Path, speech_truth: dict[str, object]) -> None:
    feats = analyze_audio(speech_over_music)
    assert feats.voice.dtype == np.float32 and feats.voice.min() >= 0 and feats.voice.max() <= 1
    gaps = _gaps(speech_truth)
    spoken = speech_truth["spoken"]
    assert isinstance(spoken, list)
    first, last = spoken[0]["start"], spoken[-1]["end"]
    inner = [p for p in speech_pauses(feats.voice, feats.hz) if p[1] > first and p[0] < last]
    for start, end in inner:  # no pause inside a word: edges within one tick of a true gap, middle inside it
        home = [g for g in gaps if g[0] - TICK <= start and end <= g[1] + TICK]
        assert home, f"pause {start:.2f}-{end:.2f} is not inside any silent gap {gaps}"
        assert home[0][0] < (start + end) / 2 < home[0][1]
    long_gaps = [g for g in gaps if g[1] - g[0] >= 0.4]
    found = [g for g in long_gaps if any(s < g[1] and e > g[0] for s, e in inner)]
    assert len(found) >= len(long_gaps) - 1, f"found {found} of {long_gaps}"


def test_music_alone_is_not_speech(music_only: Path) -> None:
    """With no speech anywhere, the recording's own quiet flux falls between the beats; beats are still no voice."""
    feats = analyze_audio(music_only)
    assert float(np.mean(feats.voice >= 0.5)) < 0.15
    assert sum(e - s for s, e in speech_pauses(feats.voice, feats.hz)) > 0.8 * feats.duration


def test_steady_vowels_inside_a_spurt_stay_speech() -> None:
    """Spectral change comes in syllable-rate bursts; a tick on a steady vowel nucleus is still speech."""
    hz, n = 10.0, 70
    bands = np.full((n, 16), -50.0, np.float32)
    flux = np.full(n, 1.0, np.float32)  # steady music: quiet flux
    bands[20:46] = -30.0  # a 2.6 s spurt 20 dB above the music in every band
    flux[20:46] = np.tile(np.array([5.0, 1.0], np.float32), 13)  # onsets and transitions, then a steady vowel
    voice = voice_activity(bands, flux, hz)
    assert (voice[20:46] >= 0.5).all() and (voice[:19] < 0.5).all() and (voice[47:] < 0.5).all()
    assert speech_pauses(voice, hz) == [(0.0, 2.0), (4.6, 7.0)]


def test_plain_energy_gate_misses_pauses_under_music(speech_over_music: Path, speech_truth: dict[str, object]) -> None:
    """The reason voice activity is not a loudness gate: music fills the gaps."""
    feats = analyze_audio(speech_over_music)
    gate = (feats.loudness > -40.0).astype(np.float32)  # a classic absolute silence threshold
    spoken = speech_truth["spoken"]
    assert isinstance(spoken, list)
    inner = [p for p in speech_pauses(gate, feats.hz) if spoken[0]["start"] < p[0] < spoken[-1]["end"]]
    assert inner == []


def test_loudness_peaks_at_the_cheer(speech_over_music: Path, speech_truth: dict[str, object]) -> None:
    feats = analyze_audio(speech_over_music)
    assert feats.loudness.dtype == np.float32
    assert feats.duration == pytest.approx(float(speech_truth["duration"]), abs=0.1)  # type: ignore[arg-type]
    assert feats.ticks == int(np.ceil(feats.duration * feats.hz - 1e-9))
    assert abs(np.argmax(feats.loudness) / feats.hz - (CHEER_AT + CHEER_LEN / 2)) <= 0.5
    assert feats.loudness.min() >= -90.0 and feats.loudness.max() <= 0.0


def test_chunking_does_not_change_results(speech_over_music: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = analyze_audio(speech_over_music)
    monkeypatch.setattr(audio_mod, "CHUNK_SECONDS", 1.3)
    chunked = analyze_audio(speech_over_music)
    np.testing.assert_allclose(chunked.loudness, whole.loudness, atol=1e-4)
    np.testing.assert_allclose(chunked.voice, whole.voice, atol=1e-4)


def test_16k_rate_and_progress(speech_over_music: Path) -> None:
    seen: list[float] = []
    feats = analyze_audio(speech_over_music, sample_rate=16000, on_progress=seen.append, duration_hint=25.0)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert feats.ticks == analyze_audio(speech_over_music).ticks


def test_analysis_is_cached(speech_over_music: Path, tmp_path: Path) -> None:
    calls: list[float] = []
    first = analyze_audio(speech_over_music, cache_dir=tmp_path, on_progress=calls.append)
    assert calls and len(list(tmp_path.glob("audio-*.npz"))) == 1
    calls.clear()
    again = analyze_audio(speech_over_music, cache_dir=tmp_path, on_progress=calls.append)
    assert calls == []  # nothing decoded: a cache hit
    np.testing.assert_array_equal(again.voice, first.voice)
    assert again.duration == first.duration


def test_bad_inputs_raise_media_errors(tmp_path: Path, silent_video: Path) -> None:
    with pytest.raises(MediaError) as missing:
        analyze_audio(tmp_path / "nope.mp4")
    assert missing.value.code == "not_found"
    with pytest.raises(MediaError) as no_audio:
        analyze_audio(silent_video)
    assert no_audio.value.code == "no_audio"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError) as bad:
        analyze_audio(junk)
    assert bad.value.code == "undecodable"
    with pytest.raises(ValueError):
        analyze_audio(silent_video, hz=7.0, sample_rate=8000)
