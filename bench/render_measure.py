"""The render benchmark's measurements: one task in a fresh child with its process tree's peak RSS, and QR checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from studio.ffmpeg import run_ffmpeg

RENDER_SCRIPT = Path(__file__).with_name("render.py")


def _tree_rss_mb(root: int) -> float:
    """Summed RSS of ``root`` and all its descendants, from /proc."""
    parents, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(entry)], rss[int(entry)] = int(fields[1]), int(fields[21]) * page
    tree, frontier = {root}, [root]
    while frontier:
        kids = [pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree]
        tree.update(kids)
        frontier = kids
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def measure(name: str, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Run one task in a fresh child; its figures plus the sampled peak RSS of its process tree."""
    spec_file, result_file = run_dir / f"{name}.spec.json", run_dir / f"{name}.result.json"
    spec_file.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    result_file.unlink(missing_ok=True)
    print(f"  {name} ...", end="", file=sys.stderr, flush=True)
    proc = subprocess.Popen([sys.executable, str(RENDER_SCRIPT), "--child", str(spec_file), str(result_file)])
    peak = [0.0]

    def poll() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    if proc.wait() != 0:
        raise SystemExit(f"{name} failed (exit code {proc.returncode})")
    watcher.join()
    result = json.loads(result_file.read_text(encoding="utf-8"))
    result["tree_rss_mb"] = peak[0]
    print(f" {result['seconds']:.1f} s", file=sys.stderr, flush=True)
    return dict(result)


# -- checks -------------------------------------------------------------------------------------------------


def qr_texts(video: Path, at: float, run_dir: Path) -> list[str]:
    """The QR codes zxing-cpp finds in the frame of ``video`` at ``at`` seconds."""
    import zxingcpp

    png = run_dir / f"frame-{video.stem}-{at:.2f}.png"
    run_ffmpeg(["-y", "-v", "error", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", str(png)])
    with Image.open(png) as image:
        found = [r.text for r in zxingcpp.read_barcodes(image.convert("RGB"))]
    png.unlink()
    return found


def side_by_side(a: Path, b: Path, at: float, out: Path) -> None:
    """A half-size still of ``a`` and ``b`` next to each other at ``at`` seconds (to eyeball parity)."""
    run_ffmpeg(
        [
            "-y",
            "-v",
            "error",
            "-ss",
            f"{at:.3f}",
            "-i",
            str(a),
            "-ss",
            f"{at:.3f}",
            "-i",
            str(b),
            "-filter_complex",
            "[0:v]scale=iw/2:-2[l];[1:v]scale=iw/2:-2[r];[l][r]hstack",
            "-frames:v",
            "1",
            str(out),
        ]
    )


# -- the run ------------------------------------------------------------------------------------------------
