"""Fixtures for the sample-stream generator: a CJK font and one short rendered sample."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from services.sample_data import SamplePlan, make_plan
from studio.ffmpeg import Progress
from studio.synth import render_sample_stream

AUDIO_CHECK_RATE = 8000


def _cjk_font() -> Path:
    try:
        from studio.fonts import find_cjk_font
    except ImportError:
        spec = importlib.util.find_spec("cvttf_NotoSansCJK_Regular")
        assert spec is not None and spec.submodule_search_locations, "install cvttf-NotoSansCJK-Regular"
        return Path(next(iter(spec.submodule_search_locations))) / "NotoSansCJKtc-Regular.otf"
    return find_cjk_font().path


@pytest.fixture(scope="session")
def cjk_font() -> Path:
    return _cjk_font()


@dataclass(frozen=True)
class RenderedSample:
    plan: SamplePlan
    path: Path
    progress: list[Progress]
    audio: np.ndarray  # mono float samples at AUDIO_CHECK_RATE

    def rms(self, start: float, end: float) -> float:
        chunk = self.audio[int(start * AUDIO_CHECK_RATE) : int(end * AUDIO_CHECK_RATE)]
        return float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2)))


def decode_mono(path: Path, rate: int = AUDIO_CHECK_RATE) -> np.ndarray:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(str(path)) as container:
        chunks = [
            out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
        ]
    return np.concatenate(chunks)


@pytest.fixture(scope="session")
def rendered_sample(tmp_path_factory: pytest.TempPathFactory, cjk_font: Path) -> RenderedSample:
    """A 40 s, two-product sample stream at full 720x1280, rendered once for the session."""
    plan = make_plan(duration=40.0, seed=11, products=2)
    out = tmp_path_factory.mktemp("synth") / "sample.mp4"
    progress: list[Progress] = []
    render_sample_stream(plan, out, font=cjk_font, on_progress=progress.append)
    return RenderedSample(plan=plan, path=out, progress=progress, audio=decode_mono(out))
