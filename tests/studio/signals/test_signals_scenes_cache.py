"""Scene changes on a video with cuts at known seconds; the signal cache; the timebase."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from studio.errors import MediaError
from studio.signals.cache import cache_key, cached_arrays
from studio.signals.scenes import scene_changes, scene_pipe_args
from studio.signals.timebase import samples_per_tick, ticks, to_seconds, to_tick


def test_timebase() -> None:
    assert ticks(3600.0) == 36000 and ticks(0.05) == 1 and ticks(0.0) == 0 and ticks(2.3) == 23
    assert to_tick(1.29) == 12 and to_tick(-1.0) == 0 and to_tick(0.3) == 3
    assert to_seconds(15) == 1.5 and to_seconds(15, 5.0) == 3.0
    assert samples_per_tick(8000, 10.0) == 800
    with pytest.raises(ValueError):
        samples_per_tick(8000, 3.0)


def test_scene_pipe_args_sample_small_grey_frames() -> None:
    args = scene_pipe_args(Path("a.mp4"), 10.0, 64)
    assert "fps=10" in args[args.index("-vf") + 1] and "format=gray" in args[args.index("-vf") + 1]
    assert "-an" in args and "-skip_frame" not in args
    assert "-skip_frame" in scene_pipe_args(Path("a.mp4"), 10.0, 64, keyframes_only=True)


def test_cuts_found_at_known_seconds(cuts_video: Path) -> None:
    strength = scene_changes(cuts_video)
    assert strength.dtype == np.float32 and len(strength) == 40
    assert strength.min() >= 0.0 and strength.max() <= 1.0
    peaks = np.flatnonzero(strength > 0.5) / 10.0
    assert len(peaks) == 2
    assert abs(peaks[0] - 1.3) <= 0.2 and abs(peaks[1] - 2.8) <= 0.2
    assert float(np.delete(strength, np.flatnonzero(strength > 0.5)).max()) < 0.2


def test_scene_errors(tmp_path: Path, audio_only: Path) -> None:
    with pytest.raises(MediaError) as no_video:
        scene_changes(audio_only)
    assert no_video.value.code == "no_video"
    with pytest.raises(MediaError) as missing:
        scene_changes(tmp_path / "missing.mp4")
    assert missing.value.code == "not_found"


def test_cache_hit_then_mtime_invalidates(tmp_path: Path) -> None:
    media = tmp_path / "rec.bin"
    media.write_bytes(b"x" * 10)
    cache = tmp_path / "cache"
    calls: list[int] = []

    def compute() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(5, dtype=np.float32), "n": np.array(len(calls))}

    key = {"kind": "test", "path": media, "hz": 10.0, "version": "1"}
    first = cached_arrays(key, cache, compute)
    second = cached_arrays(key, cache, compute)
    assert len(calls) == 1 and int(second["n"]) == 1
    np.testing.assert_array_equal(first["a"], second["a"])
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".npz")] == []  # no temp files left
    st = media.stat()
    os.utime(media, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch: same bytes, new mtime
    third = cached_arrays(key, cache, compute)
    assert len(calls) == 2 and int(third["n"]) == 2
    cached_arrays({**key, "hz": 5.0}, cache, compute)  # other parameters: another entry
    assert len(calls) == 3 and len(list(cache.glob("test-*.npz"))) == 3
    cached_arrays(key, None, compute)  # no cache dir: always computes
    assert len(calls) == 4


def test_damaged_entry_is_recomputed(tmp_path: Path) -> None:
    media = tmp_path / "rec.bin"
    media.write_bytes(b"y")
    key = {"kind": "test", "path": media, "version": "1"}
    cached_arrays(key, tmp_path, lambda: {"a": np.ones(3)})
    entry = tmp_path / f"test-{cache_key(key)}.npz"
    entry.write_bytes(b"garbage")
    out = cached_arrays(key, tmp_path, lambda: {"a": np.zeros(3)})
    np.testing.assert_array_equal(out["a"], np.zeros(3))
    with np.load(entry) as data:
        np.testing.assert_array_equal(data["a"], np.zeros(3))


def test_scene_changes_cached(cuts_video: Path, tmp_path: Path) -> None:
    first = scene_changes(cuts_video, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("scenes-*.npz"))) == 1
    np.testing.assert_array_equal(scene_changes(cuts_video, cache_dir=tmp_path), first)
