"""Benchmark ``liveslice analyze`` of a long 720x1280 recording against decoding its audio alone.

    python bench/analyze.py [--hours 1] [--repeat 3] [--skip-3h] [--no-scenes] [--workdir bench/out]

Generates (once, cached in the work dir; see ``bench/analyze_recording.py``) an ``--hours``-long sample
stream with planted selling moments and its five side-data files, plus a 3-hour loop of it for the memory
comparison. Then, in rounds that interleave the tasks (so each sees the same machine load):

* ``decode``: the project's ffmpeg (:func:`studio.ffmpeg.resolve_ffmpeg`) decoding the audio alone to
  8 kHz mono into the null muxer: the anchor;
* ``cli``: the real user command, ``python -m liveslice analyze FILE --products ... --json``, as a
  subprocess with a fresh media root (so the signal cache is cold), interpreter start-up included;
* ``analyze``: the same analysis in a fresh interpreter, timed inside it (probe + side data, then
  :func:`studio.highlights.detect_highlights`), for the breakdown and the memory comparison;
* ``scenes``: scene detection (a full video decode) on its own.

It also times the CLI's start-up alone (``liveslice analyze --help``) and lists its heaviest imports
(``-X importtime``). Prints a table, the ratios measured in this run, and PASS/FAIL against the targets:
``liveslice analyze`` within 1.3x the bare decode (the median over rounds of each round's ratio: on a shared
machine the load drifts, and a round's two runs see about the same), and memory bounded (3 h / 1 h peak
RSS under 1.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from analyze_recording import FPS, make_looped_recording, make_recording  # noqa: E402

__all__ = ["FPS", "load_input", "make_recording"]

DEFAULT_WORKDIR = ROOT / "bench" / "out"
TARGET_RATIO = 1.3  # liveslice analyze / bare audio decode
MEMORY_GROWTH_LIMIT = 1.5  # 3 h peak RSS / 1 h peak RSS
SIDE_FILES = {
    "--products": "catalog.csv",
    "--timeline": "timeline.csv",
    "--chat": "chat.jsonl",
    "--orders": "orders.csv",
    "--transcript": "transcript.srt",
}


def cli_env(media_root: Path) -> dict[str, str]:
    """The environment of a CLI run: this checkout's packages first, its own (empty) media root."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "LIVESLICE_MEDIA_ROOT": str(media_root)}


def cli_command(video: Path, side: Path) -> list[str]:
    """``liveslice analyze`` of ``video`` with its five side-data files, printing JSON."""
    files = [arg for flag, name in SIDE_FILES.items() for arg in (flag, str(side / name))]
    return [sys.executable, "-m", "liveslice", "analyze", str(video), *files, "--json"]


# -- one measurement (runs in a child process) ---------------------------------------------------------------


def _decode(video: Path) -> dict[str, Any]:
    from studio.ffmpeg import resolve_ffmpeg

    audio = ["-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", "8000"]
    cmd = [str(resolve_ffmpeg()), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video), *audio]
    start = time.perf_counter()
    subprocess.run([*cmd, "-f", "null", "-"], check=True)
    return {"wall_s": time.perf_counter() - start}


def _cli(video: Path, side: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as media_root:
        start = time.perf_counter()
        proc = subprocess.run(cli_command(video, side), env=cli_env(Path(media_root)), capture_output=True, check=False)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"liveslice analyze failed ({proc.returncode}):\n{proc.stderr.decode()[-3000:]}")
    document = json.loads(proc.stdout)
    return {"wall_s": wall, "highlights": len(document["highlights"]), "missing": sorted(document["missing"])}


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
    return {"wall_s": done - start, "load_s": loaded - start, "detect_s": done - loaded, "n": len(result.highlights)}


def _scenes(video: Path) -> dict[str, Any]:
    from studio.signals.scenes import scene_changes

    start = time.perf_counter()
    values = scene_changes(video, cache_dir=None)
    return {"wall_s": time.perf_counter() - start, "ticks": len(values)}


def run_one(task: str, video: Path, side: Path) -> dict[str, Any]:
    tasks = {
        "decode": lambda: _decode(video),
        "cli": lambda: _cli(video, side),
        "analyze": lambda: _analyze(video, side),
        "scenes": lambda: _scenes(video),
    }
    if task not in tasks:
        raise SystemExit(f"unknown task {task!r}")
    out = tasks[task]()
    # ru_maxrss is in KiB on Linux: "self" is this Python; "children" the largest process it ran (for
    # ``cli``, the larger of the CLI's Python and its ffmpeg).
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["rss_self_mb"], out["rss_children_mb"] = me.ru_maxrss / 1024, children.ru_maxrss / 1024
    # CPU seconds (user + system) of the work: its processes for decode and cli, this one too otherwise.
    work_cpu = children.ru_utime + children.ru_stime
    out["cpu_s"] = work_cpu if task in ("decode", "cli") else work_cpu + me.ru_utime + me.ru_stime
    return out


def measure(task: str, video: Path, side: Path) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter and return what it reported."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", task, str(video), str(side)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{task} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def cli_startup(repeat: int) -> tuple[float, list[tuple[str, float]]]:
    """Best wall time of ``liveslice analyze --help``, and its five heaviest top-level imports (s)."""
    cmd = [sys.executable, "-m", "liveslice", "analyze", "--help"]
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as media_root:
        env = cli_env(Path(media_root))
        walls = []
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            walls.append(time.perf_counter() - start)
        trace = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True)
    top: list[tuple[str, float]] = []
    for line in trace.stderr.splitlines():  # "import time: self [us] | cumulative | imported package"
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            top.append((parts[2].strip(), int(parts[1]) / 1e6))
    return min(walls), sorted(top, key=lambda item: -item[1])[:5]


# -- report ------------------------------------------------------------------------------------------------


def _row(label: str, hours: float, runs: list[dict[str, Any]], decode_s: float | None) -> str:
    best = min(r["wall_s"] for r in runs)
    ratio = f"{best / decode_s:7.2f}x" if decode_s else f"{'':>8}"
    rss_self, rss_child = max(r["rss_self_mb"] for r in runs), max(r["rss_children_mb"] for r in runs)
    cpu = min(r["cpu_s"] for r in runs)
    return f"{label:24} {best:8.2f} {hours * 3600 / best:8.0f}x {ratio} {cpu:7.2f} {rss_self:9.0f} {rss_child:10.0f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="length of the main recording (default 1)")
    parser.add_argument("--skip-3h", action="store_true", help="skip the 3-hour memory comparison")
    parser.add_argument("--no-scenes", action="store_true", help="skip timing scene detection")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of measurements; the fastest counts")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where generated media is cached")
    parser.add_argument("--one", nargs=3, metavar=("TASK", "VIDEO", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        task, video, side = args.one
        print(json.dumps(run_one(task, Path(video), Path(side))))
        return 0

    runs = [args.hours] + ([] if args.skip_3h or args.hours == 3.0 else [3.0])
    media = {args.hours: make_recording(args.hours, args.workdir)}
    if 3.0 in runs:
        copies = 3.0 / args.hours
        if copies.is_integer():
            media[3.0] = make_looped_recording(args.hours, int(copies), args.workdir)
        else:
            media[3.0] = make_recording(3.0, args.workdir)
    load_before = os.getloadavg()
    results: dict[float, dict[str, list[dict[str, Any]]]] = {hours: {} for hours in runs}
    for _ in range(args.repeat):
        for hours in runs:
            video, side = media[hours]
            tasks = ["decode", "cli", "analyze"] if hours == args.hours else ["analyze"]
            tasks += [] if args.no_scenes or hours != args.hours else ["scenes"]
            for task in tasks:
                results[hours].setdefault(task, []).append(measure(task, video, side))
    startup, heaviest = cli_startup(args.repeat)
    load_after = os.getloadavg()
    return report(args, media, results, (load_before, load_after), startup, heaviest)


def report(
    args: argparse.Namespace,
    media: dict[float, tuple[Path, Path]],
    results: dict[float, dict[str, list[dict[str, Any]]]],
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    startup: float,
    heaviest: list[tuple[str, float]],
) -> int:
    load_text = " -> ".join(" ".join(f"{x:.2f}" for x in load) for load in loads)
    rounds = f"best of {args.repeat} rounds (wall time), largest RSS" if args.repeat > 1 else "one round"
    print(f"\nliveslice analysis benchmark · {os.cpu_count()} CPUs · load average (1/5/15 min) {load_text}")
    print(f"{rounds}; recordings: 720x1280, {FPS} fps, H.264 + AAC 96k 48 kHz stereo, planted moments + side data")
    header = f"{'task':24} {'wall s':>8} {'x real':>9} {'/decode':>8} {'CPU s':>7} {'py RSS MB':>9} {'child MB':>10}"
    main_runs = results[args.hours]
    decode_s = min(r["wall_s"] for r in main_runs["decode"])
    for hours, r in results.items():
        video, _ = media[hours]
        print(f"\n{hours:g} h recording ({video.stat().st_size / 1e6:.0f} MB)\n{header}")
        if "decode" in r:
            print(_row("audio decode alone", hours, r["decode"], None))
            print(_row("liveslice analyze (CLI)", hours, r["cli"], decode_s))
        print(_row("analysis in-process", hours, r["analyze"], decode_s if "decode" in r else None))
        best = min(r["analyze"], key=lambda run: run["wall_s"])
        print(f"{'  probe + side data':24} {best['load_s']:8.2f}   detect_highlights {best['detect_s']:.2f} s")
        if "scenes" in r:
            print(_row("scene detection alone", hours, r["scenes"], decode_s))
    cli = main_runs["cli"][0]
    print(f"  CLI: {cli['highlights']} highlights, missing signals: {', '.join(cli['missing']) or 'none'}")
    paired = [c["wall_s"] / d["wall_s"] for c, d in zip(main_runs["cli"], main_runs["decode"], strict=True)]
    imports = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in heaviest)
    print(f"\nCLI start-up alone (liveslice analyze --help, best): {startup:.2f} s; heaviest imports: {imports}")

    cli_s = min(c["wall_s"] for c in main_runs["cli"])
    median = statistics.median(paired)
    print("\ntargets")
    per_round = ", ".join(f"{x:.2f}" for x in paired)
    print(f"  liveslice analyze <= {TARGET_RATIO}x the bare audio decode, median of the rounds' ratios (each round")
    print(f"  runs both back to back, so both see the same load): {per_round} -> {median:.2f}x", end=" ")
    ok = median <= TARGET_RATIO
    print(f"(best of each: {cli_s:.2f} s / {decode_s:.2f} s = {cli_s / decode_s:.2f}x) -> {_verdict(ok)}")
    cli_cpu, decode_cpu = (min(r["cpu_s"] for r in main_runs[task]) for task in ("cli", "decode"))
    print(f"  (CPU seconds, less sensitive to load: {cli_cpu:.2f} / {decode_cpu:.2f} = {cli_cpu / decode_cpu:.2f}x)")
    if 3.0 in results and args.hours != 3.0:
        small = max(r["rss_self_mb"] for r in results[args.hours]["analyze"])
        big = max(r["rss_self_mb"] for r in results[3.0]["analyze"])
        bounded = big / small <= MEMORY_GROWTH_LIMIT
        ok = ok and bounded
        limit = f"3 h / {args.hours:g} h peak RSS <= {MEMORY_GROWTH_LIMIT}x"
        growth = f"{small:.0f} -> {big:.0f} MB ({big / small:.2f}x)"
        print(f"  memory bounded ({limit}): python {growth} -> {_verdict(bounded)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
