"""Test media for the media signals: the committed espeak-ng speech mixed with music and a cheer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.ffmpeg import run_ffmpeg

SPEECH_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "speech"
CHEER_AT, CHEER_LEN = 16.0, 0.6
SPEECH_RMS_DB = -20.4  # voiced RMS of speech.opus, measured once


def music_expr(level_db: float) -> str:
    """aevalsrc expression: a chord progression with harmonics, a pulse, a kick and a noisy hi-hat."""
    amp = 10 ** ((SPEECH_RMS_DB + level_db) / 20) / 0.35
    root = "220*pow(2,floor(mod(t,4))*2/12)"
    tones = "+".join(f"{1 / k:.3f}*sin(2*PI*{root}*{m * k:g}*t)" for m in (1, 1.26, 1.498) for k in (1, 2, 3, 4, 6, 8))
    pulse = "(0.7+0.3*exp(-mod(t,0.5)*8))"
    kick = "0.8*sin(2*PI*60*t)*exp(-mod(t,0.5)*20)"
    hat = "0.5*(2*random(0)-1)*exp(-mod(t+0.25,0.5)*25)"
    return f"{amp:.5f}*({pulse}*({tones})/5+{kick}+{hat})"


@pytest.fixture(scope="session")
def speech_truth() -> dict[str, object]:
    return json.loads((SPEECH_DIR / "speech.json").read_text(encoding="utf-8"))


def _mix(out: Path, duration: float, music_db: float) -> Path:
    graph = f"[2:a]adelay={int(CHEER_AT * 1000)}:all=1[c];[0:a][1:a][c]amix=inputs=3:normalize=0:duration=first[a]"
    run_ffmpeg(
        [
            "-y",
            "-i",
            str(SPEECH_DIR / "speech.opus"),
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{music_expr(music_db)}':s=16000:d={duration}",
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=d={CHEER_LEN}:c=pink:a=0.9:r=16000",
            "-f",
            "lavfi",
            "-i",
            f"color=c=gray:s=64x64:r=10:d={duration}",
            "-filter_complex",
            graph,
            "-map",
            "3:v",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            str(out),
        ]
    )
    return out


@pytest.fixture(scope="session")
def speech_over_music(tmp_path_factory: pytest.TempPathFactory, speech_truth: dict[str, object]) -> Path:
    """MP4 (video + AAC): the speech fixture over music 12 dB below it, and a cheer at CHEER_AT."""
    duration = float(speech_truth["duration"])  # type: ignore[arg-type]
    return _mix(tmp_path_factory.mktemp("media") / "speech_music.mp4", duration, -12.0)


@pytest.fixture(scope="session")
def music_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the same music, alone (AAC): no one speaks."""
    out = tmp_path_factory.mktemp("media") / "music.m4a"
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{music_expr(-12.0)}':s=16000:d=20",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(out),
        ]
    )
    return out


@pytest.fixture(scope="session")
def cuts_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Video cutting red -> blue at 1.3 s and blue -> testsrc2 at 2.8 s (4 s total, with audio)."""
    out = tmp_path_factory.mktemp("media") / "cuts.mp4"
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=128x72:r=25:d=1.3",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=128x72:r=25:d=1.5",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=128x72:r=25:d=1.2",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=4:r=8000",
            "-filter_complex",
            "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
            "-map",
            "[v]",
            "-map",
            "3:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-c:a",
            "aac",
            str(out),
        ]
    )
    return out


@pytest.fixture(scope="session")
def silent_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s video with no audio stream."""
    out = tmp_path_factory.mktemp("media") / "silent.mp4"
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "testsrc2=s=64x64:r=10:d=1", "-c:v", "libx264", "-preset", "ultrafast", str(out)]
    )
    return out


@pytest.fixture(scope="session")
def audio_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s WAV with no video stream."""
    out = tmp_path_factory.mktemp("media") / "tone.wav"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=f=300:d=1:r=8000", str(out)])
    return out
