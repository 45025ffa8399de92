"""Benchmark the media signals on a long 720x1280 recording.

    python bench/analyze_media.py [--hours 1] [--scenes]

Builds (once, cached under bench/out/) a low-bitrate 720x1280 recording of the requested
length by stream-copying a 60 s piece, then times, each in a fresh process so peak RSS is
its own: decoding the audio alone (ffmpeg pipe, and PyAV), analyze_audio, and optionally
scene_changes (full decode, and keyframes only).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.ffmpeg import run_ffmpeg  # noqa: E402

OUT = ROOT / "bench" / "out"
PIECE_S = 60


def make_recording(hours: float) -> Path:
    """A ``hours``-long 720x1280 recording: 60 s of moving video + music + tone bursts, repeated."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"recording_{hours:g}h.mp4"
    if target.is_file():
        return target
    piece = OUT / "piece_60s.mp4"
    if not piece.is_file():
        music = "0.05*(sin(2*PI*220*t)+sin(2*PI*277*t)+sin(2*PI*330*t))"
        talk = "0.3*sin(2*PI*180*t)*sin(2*PI*4*t)*lt(mod(t,7),5)"
        run_ffmpeg(
            [
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=s=720x1280:r=25:d={PIECE_S}",
                "-f",
                "lavfi",
                "-i",
                f"aevalsrc='{music}+{talk}':s=44100:d={PIECE_S}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-b:v",
                "300k",
                "-g",
                "50",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                "-shortest",
                str(piece),
            ]
        )
    listing = OUT / f"list_{hours:g}h.txt"
    count = max(1, round(hours * 3600 / PIECE_S))
    listing.write_text("".join(f"file '{piece.name}'\n" for _ in range(count)))
    tmp = target.with_suffix(".tmp.mp4")
    run_ffmpeg(["-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(tmp)])
    tmp.replace(target)
    return target


def _one(task: str, path: Path) -> dict[str, float]:
    import numpy as np

    start = time.perf_counter()
    if task == "decode_ffmpeg":
        from studio.signals.audio import iter_audio_chunks

        total = sum(c.size for c in iter_audio_chunks(path, 8000, 240_000))
    elif task == "decode_pyav":
        import av

        total = 0
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=8000)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    total += out.to_ndarray().size
    elif task == "analyze_audio":
        from studio.signals.audio import analyze_audio

        total = int(analyze_audio(path).ticks)
    elif task in ("scenes", "scenes_keyframes"):
        from studio.signals.scenes import scene_changes

        total = int(np.asarray(scene_changes(path, keyframes_only=task == "scenes_keyframes")).size)
    else:
        raise SystemExit(f"unknown task {task}")
    wall = time.perf_counter() - start
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_s": wall, "count": float(total), "rss_mb": self_kb / 1024, "child_rss_mb": child_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0])
    parser.add_argument("--scenes", action="store_true", help="also time scene detection (a full video decode)")
    parser.add_argument("--one", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], Path(args.one[1]))))
        return
    tasks = ["decode_ffmpeg", "decode_pyav", "analyze_audio"] + (["scenes_keyframes", "scenes"] if args.scenes else [])
    for hours in args.hours:
        path = make_recording(hours)
        seconds = hours * 3600
        results: dict[str, dict[str, float]] = {}
        for task in tasks:
            out = subprocess.run(
                [sys.executable, __file__, "--one", task, str(path)], capture_output=True, text=True, check=True
            )
            results[task] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\n{hours:g} h recording ({path.stat().st_size / 1e6:.0f} MB, 720x1280)")
        print(f"{'task':18} {'wall s':>8} {'x real':>8} {'py RSS MB':>10} {'ffmpeg RSS MB':>14}")
        for task, r in results.items():
            speed = seconds / r["wall_s"]
            print(f"{task:18} {r['wall_s']:8.2f} {speed:8.0f} {r['rss_mb']:10.0f} {r['child_rss_mb']:14.0f}")
        ratio = results["analyze_audio"]["wall_s"] / results["decode_ffmpeg"]["wall_s"]
        print(f"analyze_audio / ffmpeg audio decode alone: {ratio:.2f}x")


if __name__ == "__main__":
    main()
