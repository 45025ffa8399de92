"""A single-link clip on an end-card preset ends on a card with its QR; a corner preset keeps its corner QR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.probe import probe
from studio.render import get_preset, validate_output
from tests.services.clips.clip_media import decode_errors, frame, make_source, qr_texts

SHARE = "https://ls.example.com/s/kS9x2"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("end-card") / "live.mp4")


def _render(tmp_path: Path, source: Path, preset: str) -> Path:
    out = tmp_path / preset / "clip.mp4"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env["LIVESLICE_MEDIA_ROOT"] = str(tmp_path / "media")
    args = ["render", str(source), "--start", "1", "--end", "2", "--platform", preset, "--share-url", SHARE]
    result = subprocess.run(
        [sys.executable, "-m", "liveslice", *args, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["channels", "douyin"])
def test_an_end_card_preset_ends_on_the_share_links_qr(source: Path, tmp_path: Path, preset: str) -> None:
    video = _render(tmp_path, source, preset)
    validate_output(video, preset=get_preset(preset), expected_duration=1.0 + 3.0)  # the 3 s end card
    assert decode_errors(video) == ""  # spliced by stream copy, and still decodes cleanly
    last = probe(video).duration - 0.05
    assert qr_texts(frame(video, last, tmp_path)) == [SHARE]
    assert qr_texts(frame(video, 0.5, tmp_path)) == []  # no corner QR on these presets


@pytest.mark.slow
def test_a_corner_preset_keeps_its_corner_qr_and_gets_no_end_card(source: Path, tmp_path: Path) -> None:
    video = _render(tmp_path, source, "kuaishou")
    validate_output(video, preset=get_preset("kuaishou"), expected_duration=1.0)
    assert qr_texts(frame(video, 0.5, tmp_path)) == [SHARE]
