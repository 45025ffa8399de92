"""Benchmark the highlight analysis of a long 720x1280 recording against decoding its audio alone.

    python bench/analyze.py [--hours 1] [--skip-3h] [--no-scenes] [--repeat N] [--workdir media/bench]

Generates (once, cached in the work dir) an ``--hours``-long 720x1280 sample stream with planted
selling moments and its five side-data files (``services.sample_data.make_plan`` rendered by
``studio.synth`` at a low frame rate and bitrate; about 5 minutes on 2 busy cores), plus a 3-hour one
for the memory comparison (the 1 h file stream-copied three times, its side data repeated to match).
Then, each measurement in a fresh child process so its peak RSS is its own:

* ``decode``: ffmpeg decoding the audio alone to 8 kHz mono into the null muxer (the anchor);
* ``analyze``: probe + side-data parsing + :func:`studio.highlights.detect_highlights` under the
  ``sales`` preset, scene detection off, signal cache disabled (every run decodes afresh);
* ``scenes``: scene detection (a full video decode) on its own.

Prints a table, the ratios measured in this run, and PASS/FAIL against the targets: the hour analysed
in 10 s or less (360x real time or better), and memory bounded (3 h peak RSS under 1.5x the 1 h one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
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

DEFAULT_WORKDIR = ROOT / "media" / "bench"
SEED = 7
PRODUCTS_PER_HOUR = 6  # the sample catalog holds six products; longer streams present each for longer
FPS = 5
CRF = "40"  # very low bitrate: the picture barely matters, the audio is what the analysis decodes
TARGET_SECONDS_PER_HOUR = 10.0
MEMORY_GROWTH_LIMIT = 1.5  # 3 h peak RSS / 1 h peak RSS
GENERATOR_VERSION = 2  # 2: broadband synthetic voice and music


# -- the recording -----------------------------------------------------------------------------------------


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
    params = {
        "base": base_video.name,
        "base_size": base_video.stat().st_size,
        "copies": copies,
        "version": GENERATOR_VERSION,
    }
    video, side, fresh = _cached(workdir, name, params)
    if fresh:
        return video, side
    write_side_data(looped_plan(make_plan(hours * 3600, seed=SEED, products=PRODUCTS_PER_HOUR), copies), side)
    listing = workdir / f".{name}.txt"
    listing.write_text(f"file '{base_video.name}'\n" * copies)
    tmp = workdir / f".{name}.part.mp4"
    try:
        run_ffmpeg(
            ["-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp)]
        )
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    (workdir / f"{name}.json").write_text(json.dumps(params))
    return video, side


# -- one measurement (runs in a child process) ---------------------------------------------------------------


def _decode(video: Path) -> dict[str, Any]:
    from studio.ffmpeg import resolve_ffmpeg

    exe = resolve_ffmpeg()
    start = time.perf_counter()
    subprocess.run(
        [
            str(exe),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(video),
            "-map",
            "0:a:0",
            "-vn",
            "-sn",
            "-dn",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-f",
            "null",
            "-",
        ],
        check=True,
    )
    return {"wall_s": time.perf_counter() - start}


def load_input(video: Path, side: Path) -> Any:
    """Probe ``video`` and parse the five side-data files into an :class:`AnalysisInput` (no cache)."""
    from sidedata.facade import parse_side_data
    from sidedata.timeparse import TimeContext
    from studio.probe import probe
    from studio.signals import AnalysisInput

    duration = probe(video).duration
    if duration is None:
        raise SystemExit(f"{video}: no duration")
    ctx = TimeContext(duration=duration)

    def read(name: str) -> bytes:
        return (side / name).read_bytes()

    products = parse_side_data("catalog", read("catalog.csv"), "catalog.csv").products
    skus = {p.sku for p in products}
    timeline = parse_side_data("timeline", read("timeline.csv"), "timeline.csv", known_skus=skus, ctx=ctx)
    chat = parse_side_data("chat", read("chat.jsonl"), "chat.jsonl", ctx=ctx)
    orders = parse_side_data("orders", read("orders.csv"), "orders.csv", known_skus=skus, ctx=ctx)
    cues = parse_side_data("transcript", read("transcript.srt"), "transcript.srt", ctx=ctx)
    return AnalysisInput(
        duration=duration,
        media_path=video,
        products=products,
        segments=timeline.segments,
        chat=chat.events,
        orders=orders.orders,
        cues=cues.cues,
        cache_dir=None,
        scene_detection=False,
    )


def _analyze(video: Path, side: Path) -> dict[str, Any]:
    from studio.highlights import detect_highlights

    start = time.perf_counter()
    inp = load_input(video, side)
    loaded = time.perf_counter()
    result = detect_highlights(inp, clips=10, preset="sales")
    done = time.perf_counter()
    return {
        "wall_s": done - start,
        "load_s": loaded - start,
        "detect_s": done - loaded,
        "highlights": len(result.highlights),
        "missing": sorted(result.missing),
    }


def _scenes(video: Path) -> dict[str, Any]:
    from studio.signals.scenes import scene_changes

    start = time.perf_counter()
    values = scene_changes(video, cache_dir=None)
    return {"wall_s": time.perf_counter() - start, "ticks": len(values)}


def run_one(task: str, video: Path, side: Path) -> dict[str, Any]:
    if task == "decode":
        out = _decode(video)
    elif task == "analyze":
        out = _analyze(video, side)
    elif task == "scenes":
        out = _scenes(video)
    else:
        raise SystemExit(f"unknown task {task!r}")
    # ru_maxrss is in KiB on Linux. "self" is this Python process; "children" the largest ffmpeg it ran.
    out["rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def measure(task: str, video: Path, side: Path) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter and return what it reported."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", task, str(video), str(side)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{task} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def best_of(previous: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The faster of two runs of one task (with its breakdown), keeping the larger peak RSS of both."""
    if previous is None:
        return new
    best = dict(new if new["wall_s"] < previous["wall_s"] else previous)
    for key in ("rss_self_mb", "rss_children_mb"):
        best[key] = max(previous[key], new[key])
    return best


# -- report ------------------------------------------------------------------------------------------------


def _row(label: str, hours: float, r: dict[str, Any], decode_s: float | None) -> str:
    speed = hours * 3600 / r["wall_s"]
    ratio = f"{r['wall_s'] / decode_s:7.2f}x" if decode_s else f"{'':>8}"
    return f"{label:24} {r['wall_s']:8.2f} {speed:8.0f}x {ratio} {r['rss_self_mb']:9.0f} {r['rss_children_mb']:10.0f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="length of the main recording (default 1)")
    parser.add_argument("--skip-3h", action="store_true", help="skip the 3-hour memory comparison")
    parser.add_argument("--no-scenes", action="store_true", help="skip timing scene detection")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of measurements; the fastest counts")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where generated media is cached")
    parser.add_argument("--one", nargs=3, metavar=("TASK", "VIDEO", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        task, video, side = args.one
        print(json.dumps(run_one(task, Path(video), Path(side))))
        return 0

    runs = [args.hours] + ([] if args.skip_3h or args.hours == 3.0 else [3.0])
    media = {args.hours: make_recording(args.hours, args.workdir)}
    if 3.0 in runs and args.hours != 3.0:
        copies = 3.0 / args.hours
        if copies.is_integer():
            media[3.0] = make_looped_recording(args.hours, int(copies), args.workdir)
        else:
            media[3.0] = make_recording(3.0, args.workdir)
    load_before = os.getloadavg()
    results: dict[float, dict[str, dict[str, Any]]] = {hours: {} for hours in runs}
    for _ in range(args.repeat):  # rounds interleave the tasks, so that each sees the same machine load
        for hours in runs:
            video, side = media[hours]
            tasks = ["decode", "analyze"] + ([] if args.no_scenes or hours != args.hours else ["scenes"])
            for task in tasks:
                results[hours][task] = best_of(results[hours].get(task), measure(task, video, side))
    load_after = os.getloadavg()

    rounds = f"best of {args.repeat} rounds (wall time), largest RSS" if args.repeat > 1 else "one round"
    loads = f"before {' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in load_after)}"
    print(f"\nliveslice analysis benchmark · {os.cpu_count()} CPUs · load average (1/5/15 min) {loads}")
    print(
        f"{rounds}; recordings: 720x1280, {FPS} fps, H.264 crf {CRF} + AAC 96k 48 kHz stereo, "
        "planted moments + side data"
    )
    header = f"{'task':24} {'wall s':>8} {'x real':>9} {'/decode':>8} {'py RSS MB':>9} {'ffmpeg MB':>10}"
    for hours in runs:
        video, _ = media[hours]
        r = results[hours]
        print(f"\n{hours:g} h recording ({video.stat().st_size / 1e6:.0f} MB)\n{header}")
        decode_s = r["decode"]["wall_s"]
        print(_row("audio decode alone", hours, r["decode"], None))
        print(_row("analysis, no scenes", hours, r["analyze"], decode_s))
        a = r["analyze"]
        print(
            f"{'  of which probe+side data':24} {a['load_s']:8.2f}   detect_highlights {a['detect_s']:.2f} s, "
            f"{a['highlights']} highlights, missing signals: {', '.join(a['missing']) or 'none'}"
        )
        if "scenes" in r:
            print(_row("scene detection alone", hours, r["scenes"], decode_s))

    main_run = results[args.hours]["analyze"]
    limit = TARGET_SECONDS_PER_HOUR * args.hours
    print("\ntargets")
    print(
        f"  analysis of {args.hours:g} h <= {limit:g} s ({3600 / TARGET_SECONDS_PER_HOUR:.0f}x real time): "
        f"{main_run['wall_s']:.2f} s, {args.hours * 3600 / main_run['wall_s']:.0f}x -> "
        f"{_verdict(main_run['wall_s'] <= limit)}"
    )
    ok = main_run["wall_s"] <= limit
    if 3.0 in results and args.hours != 3.0:
        small, big = results[args.hours]["analyze"], results[3.0]["analyze"]
        growth = big["rss_self_mb"] / small["rss_self_mb"]
        total = (big["rss_self_mb"] + big["rss_children_mb"]) / (small["rss_self_mb"] + small["rss_children_mb"])
        bounded = growth <= MEMORY_GROWTH_LIMIT
        ok = ok and bounded
        print(
            f"  memory bounded (3 h / {args.hours:g} h peak RSS <= {MEMORY_GROWTH_LIMIT}x): python "
            f"{small['rss_self_mb']:.0f} -> {big['rss_self_mb']:.0f} MB ({growth:.2f}x), with ffmpeg {total:.2f}x "
            f"-> {_verdict(bounded)}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
