"""The long sample recording that ``bench/analyze.py`` (and ``bench/e2e.py``) analyse, rendered once and cached.

An ``hours``-long 720x1280 sample stream with planted selling moments and its five side-data files
(``services.sample_data.make_plan`` rendered by ``studio.synth`` at a low frame rate and bitrate; about
2-5 minutes per hour on 2 busy cores), and a longer one looped from it for memory comparisons.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.sample_data import SamplePlan, make_plan, write_side_data  # noqa: E402
from studio.ffmpeg import run_ffmpeg  # noqa: E402
from studio.fonts import find_cjk_font  # noqa: E402
from studio.synth import Span, sample_stream_args, sample_stream_graph  # noqa: E402

SEED = 7
PRODUCTS_PER_HOUR = 6  # the sample catalog holds six products; longer streams present each for longer
FPS = 5
CRF = "40"  # very low bitrate: the picture barely matters, the audio is what the analysis decodes
GENERATOR_VERSION = 2  # 2: broadband synthetic voice and music


def _cached(workdir: Path, name: str, params: dict[str, Any]) -> tuple[Path, Path, bool]:
    video, side, stamp = workdir / f"{name}.mp4", workdir / f"{name}_side", workdir / f"{name}.json"
    fresh = video.is_file() and side.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == params
    return video, side, fresh


def make_recording(hours: float, workdir: Path) -> tuple[Path, Path]:
    """The ``hours``-long sample stream and its side-data folder, rendered once per parameter set."""
    name = f"stream_{hours:g}h_{FPS}fps"
    params = {"hours": hours, "seed": SEED, "fps": FPS, "crf": CRF, "version": GENERATOR_VERSION}
    video, side, fresh = _cached(workdir, name, params)
    if fresh:
        return video, side
    workdir.mkdir(parents=True, exist_ok=True)
    plan = make_plan(hours * 3600, seed=SEED, products=PRODUCTS_PER_HOUR)
    write_side_data(plan, side)
    font = find_cjk_font().path
    graph = workdir / f".{name}.graph.txt"
    graph.write_text(sample_stream_graph(plan, fps=FPS, font=font), encoding="utf-8")
    tmp = workdir / f".{name}.part.mp4"
    args = sample_stream_args(plan, tmp, fps=FPS, font=font, graph_file=graph)
    args[args.index("-crf") + 1] = CRF
    print(f"generating {video.name} ({hours:g} h at {FPS} fps; minutes, once) ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        run_ffmpeg(args, duration=plan.duration)
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
        graph.unlink(missing_ok=True)
    (workdir / f"{name}.json").write_text(json.dumps(params))
    print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return video, side


def looped_plan(plan: SamplePlan, copies: int) -> SamplePlan:
    """``plan`` played ``copies`` times in a row (order ids made unique per copy)."""

    def shifted(k: int) -> dict[str, list[Any]]:
        dt = k * plan.duration
        return {
            "segments": [
                replace(s, start=s.start + dt, end=s.end + dt, selling_moment=s.selling_moment + dt)
                for s in plan.segments
            ],
            "speech": [Span(s.start + dt, s.end + dt) for s in plan.speech],
            "decoys": [Span(s.start + dt, s.end + dt) for s in plan.decoys],
            "chat": [replace(c, ts=c.ts + dt) for c in plan.chat],
            "orders": [
                replace(o, ts=o.ts + dt, order_id=f"{o.order_id}-{k}" if o.order_id else None) for o in plan.orders
            ],
            "transcript": [replace(c, start=c.start + dt, end=c.end + dt) for c in plan.transcript],
        }

    parts = [shifted(k) for k in range(copies)]

    def joined(key: str) -> tuple[Any, ...]:
        return tuple(item for part in parts for item in part[key])

    return replace(
        plan,
        duration=plan.duration * copies,
        segments=joined("segments"),
        speech=joined("speech"),
        decoys=joined("decoys"),
        chat=joined("chat"),
        orders=joined("orders"),
        transcript=joined("transcript"),
    )


def make_looped_recording(hours: float, copies: int, workdir: Path) -> tuple[Path, Path]:
    """The ``hours`` recording stream-copied ``copies`` times in a row, with its side data repeated to match.

    Rendering 3 h of the synth takes a quarter of an hour; for the memory comparison a loop serves as well.
    """
    base_video, _ = make_recording(hours, workdir)
    name = f"stream_{hours * copies:g}h_{FPS}fps_loop"
    size = base_video.stat().st_size
    params = {"base": base_video.name, "base_size": size, "copies": copies, "version": GENERATOR_VERSION}
    video, side, fresh = _cached(workdir, name, params)
    if fresh:
        return video, side
    write_side_data(looped_plan(make_plan(hours * 3600, seed=SEED, products=PRODUCTS_PER_HOUR), copies), side)
    listing = workdir / f".{name}.txt"
    listing.write_text(f"file '{base_video.name}'\n" * copies)
    tmp = workdir / f".{name}.part.mp4"
    try:
        concat = ["-f", "concat", "-safe", "0", "-i", str(listing)]
        run_ffmpeg(["-y", *concat, "-c", "copy", "-movflags", "+faststart", str(tmp)])
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    (workdir / f"{name}.json").write_text(json.dumps(params))
    return video, side
