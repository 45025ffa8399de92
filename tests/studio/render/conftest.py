"""Small sources for the clip renderer, made with the pinned ffmpeg once per session, plus frame helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from studio.ffmpeg import run_ffmpeg
from studio.render.presets import Preset, get_preset
from tests.support.lazy_media import lazy_media

MakeSource = Callable[[str], Path]

#: Small render target: douyin's layout (end-card QR policy, safe zones) at 270x480.
SMALL = get_preset("douyin").scaled(270, 480, name="test-small")
#: A preset that allows a corner QR, big enough for a QR to survive compression.
QR_PRESET = get_preset("kuaishou").scaled(540, 960, name="test-qr")

_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
_BFRAMES = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]  # B-frames on


def _lavfi_video(spec: str) -> list[str]:
    return ["-f", "lavfi", "-i", spec]


def _tone(seconds: float, rate: int = 44100) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}"]


def _run(*args: str) -> None:
    run_ffmpeg(["-loglevel", "error", "-y", *args], timeout=120)


def _build(kind: str, root: Path, make: MakeSource) -> Path:
    """Make the source called ``kind`` under ``root``."""
    aac = ["-c:a", "aac", "-shortest"]
    if kind == "landscape":  # 4 s 320x180 30 fps, keyframe every second, 44.1 kHz mono audio
        out = root / "landscape.mp4"
        _run(*_lavfi_video("testsrc2=size=320x180:rate=30:duration=4"), *_tone(4), *_X264, "-g", "30", *aac, str(out))
    elif kind == "portrait":
        out = root / "portrait.mp4"
        _run(*_lavfi_video("testsrc2=size=180x320:rate=30:duration=4"), *_tone(4), *_X264, "-g", "30", *aac, str(out))
    elif kind == "marked":  # black 320x180 with a white block in the top-left corner (shows orientation)
        out = root / "marked.mp4"
        spec = "color=black:size=320x180:rate=30:duration=3,drawbox=x=0:y=0:w=80:h=45:color=white:t=fill"
        _run(*_lavfi_video(spec), *_tone(3), *_X264, *aac, str(out))
    elif kind == "rotated":  # the marked clip flagged to display turned 90 degrees counter-clockwise
        out = root / "rotated.mov"
        _run("-display_rotation", "90", "-i", str(make("marked")), "-c", "copy", str(out))
    elif kind == "vfr":  # 30 fps for a second, then 10 fps
        out = root / "vfr.mkv"
        drop = r"select='lt(t\,1)+not(mod(n\,3))'"
        _run(
            *_lavfi_video("testsrc2=size=320x180:rate=30:duration=4"),
            *_tone(4),
            "-vf",
            drop,
            "-fps_mode",
            "vfr",
            *_X264,
            *aac,
            str(out),
        )
    elif kind == "fps60":
        out = root / "fps60.mp4"
        _run(*_lavfi_video("testsrc2=size=320x180:rate=60:duration=3"), *_tone(3), *_X264, *aac, str(out))
    elif kind == "odd":  # odd dimensions need 4:4:4 in H.264
        out = root / "odd.mp4"
        _run(
            *_lavfi_video("testsrc2=size=320x180:rate=25:duration=3,scale=321:179,setsar=1"),
            *_tone(3),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv444p",
            *aac,
            str(out),
        )
    elif kind == "flv":  # B-frames, as live CDN recordings have
        out = root / "live.flv"
        _run(
            *_lavfi_video("testsrc2=size=320x180:rate=30:duration=4"), *_tone(4), *_BFRAMES, "-g", "45", *aac, str(out)
        )
    elif kind == "noaudio":
        out = root / "noaudio.mp4"
        _run(*_lavfi_video("testsrc2=size=320x180:rate=30:duration=3"), *_X264, str(out))
    elif kind == "black":  # plain black with silence: anything bright in a render was drawn by us
        out = root / "black.mp4"
        _run(*_lavfi_video("color=black:size=320x180:rate=30:duration=3"), *_tone(3), *_X264, *aac, str(out))
    elif kind == "long_bframes":  # 12 s with B-frames and a keyframe every 1.5 s, 48 kHz stereo
        out = root / "long.mp4"
        _run(
            *_lavfi_video("testsrc2=size=160x90:rate=30:duration=12"),
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:sample_rate=48000:duration=12",
            *_BFRAMES,
            "-g",
            "45",
            "-ac",
            "2",
            *aac,
            str(out),
        )
    elif kind in ("long_flv", "long_ts", "long_mkv"):
        out = root / f"long.{kind.removeprefix('long_')}"
        _run("-i", str(make("long_bframes")), "-c", "copy", str(out))
    else:
        raise KeyError(kind)
    return out


@pytest.fixture(scope="session")
def render_source(tmp_path_factory: pytest.TempPathFactory) -> MakeSource:
    """``render_source(kind)``: the path of a small generated source, made on first use."""
    return lazy_media(_build, tmp_path_factory.mktemp("render-sources"))


@pytest.fixture
def small_preset() -> Preset:
    return SMALL


def frame_at(path: Path, seconds: float, out_dir: Path, *, gray: bool = False) -> np.ndarray:
    """The decoded frame of ``path`` at ``seconds`` as an array (H x W x 3 RGB, or H x W gray)."""
    from PIL import Image

    png = out_dir / f"frame-{path.stem}-{seconds:.3f}.png"
    run_ffmpeg(["-loglevel", "error", "-y", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1", str(png)])
    with Image.open(png) as image:
        return np.asarray(image.convert("L" if gray else "RGB"))
