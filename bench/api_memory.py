"""Benchmark: the API process's memory through a 1 GB tus upload and its ingest.

Starts a real `liveslice serve --no-worker` per checkout, reads its VmRSS (and VmHWM, the peak)
from /proc idle, every 50 ms during a tuspy upload of a real H.264 MP4 (a generated 1080p clip
stream-copied in a loop), and a few seconds after the ingest answered. ``--tree`` runs the
server from another checkout (e.g. an export of the commit before a fix) to compare against.

    python bench/api_memory.py --size-mb 1024 [--tree /tmp/liveslice-before]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tusclient import client as tus_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio.ffmpeg import run_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
LIMIT_MB = 150.0
OUT = ROOT / "bench" / "out"


def make_recording(path: Path, size: int) -> Path:
    """A real MP4 of about ``size`` bytes: 20 s of 1080p30 H.264 + AAC at ~20 Mb/s, looped by stream copy."""
    if path.exists() and path.stat().st_size >= size * 0.95:
        return path
    clip = path.with_name("clip-1080p-20s.mp4")
    if not clip.exists():
        video = "testsrc2=size=1920x1080:rate=30:duration=20"
        encode = [
            "-vf",
            "noise=alls=20:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "20M",
            "-c:a",
            "aac",
        ]
        run_ffmpeg(["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", "sine=duration=20", *encode, "-y", str(clip)])
    loops = max(0, round(size / clip.stat().st_size) - 1)
    tmp = path.with_name(f"tmp-{path.name}")
    run_ffmpeg(["-stream_loop", str(loops), "-i", str(clip), "-c", "copy", "-y", str(tmp)])
    tmp.replace(path)
    return path


def proc_mb(pid: int, field: str) -> float:
    """``VmRSS``/``VmHWM`` of ``pid`` in MB (0 once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f"{field}:")), 0.0)


class Sampler(threading.Thread):
    """The highest VmRSS seen every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, proc_mb(self.pid, "VmRSS"))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


@dataclass
class Figures:
    tree: Path
    idle: float
    idle_hwm: float
    peak: float
    hwm: float
    after: float
    seconds: float

    def line(self) -> str:
        return (
            f"{str(self.tree)[-28:]:<28} idle {self.idle:6.1f}  peak {self.peak:6.1f}  VmHWM {self.hwm:6.1f}"
            f"  after {self.after:6.1f}  growth {self.after - self.idle:+6.1f} MB  ({self.seconds:.0f} s)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(tree: Path, source: Path, work: Path, chunk: int) -> Figures:
    """Serve from ``tree``, upload ``source`` over tus, and read the server's memory around it."""
    media = Path(tempfile.mkdtemp(prefix="media-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_MEDIA_ROOT=str(media), LIVESLICE_MIN_FREE_BYTES="0", PYTHONPATH=str(tree))
    cli = [sys.executable, "-m", "liveslice"]
    made = subprocess.run(
        [*cli, "keys", "create", "--role", "content", "--name", "bench"],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--no-worker", "--port", str(port)], env=env, cwd=tree, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.options(f"{base}/api/uploads/tus/", headers=auth, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(2)  # let startup settle
        idle, idle_hwm = proc_mb(server.pid, "VmRSS"), proc_mb(server.pid, "VmHWM")
        sampler = Sampler(server.pid)
        sampler.start()
        started = time.monotonic()
        uploader = tus_client.TusClient(f"{base}/api/uploads/tus/", headers=auth).uploader(
            str(source), chunk_size=chunk, metadata={"filename": source.name}
        )
        uploader.upload()
        seconds = time.monotonic() - started
        peak = sampler.stop()
        assert uploader.request is not None
        assert uploader.request.response_headers.get("x-recording-id"), "the upload did not become a recording"
        time.sleep(3)
        return Figures(tree, idle, idle_hwm, peak, proc_mb(server.pid, "VmHWM"), proc_mb(server.pid, "VmRSS"), seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(media)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=64, help="tus PATCH size")
    parser.add_argument("--tree", type=Path, action="append", default=[], help="also measure this checkout")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"making a {args.size_mb} MB MP4 in {OUT} (kept for the next run) ...", flush=True)
    source = make_recording(OUT / f"api-memory-{args.size_mb}mb.mp4", args.size_mb * MiB)
    print(f"uploading {source.stat().st_size / MiB:.0f} MB in {args.chunk_mb} MB PATCHes; figures are MB", flush=True)
    work = Path(tempfile.mkdtemp(prefix="api-memory-", dir=OUT))
    try:
        results = [measure(tree.resolve(), source, work, args.chunk_mb * MiB) for tree in [*args.tree, ROOT]]
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    for figures in results:
        print(figures.line())
    ours = results[-1]
    for other in results[:-1]:
        growth = other.after - other.idle
        print(
            f"vs {other.tree.name}: peak {ours.peak / other.peak:.2f}x, after {ours.after / other.after:.2f}x, "
            f"growth {ours.after - ours.idle:+.1f} MB vs {growth:+.1f} MB"
        )
    ok = max(ours.peak, ours.hwm, ours.after) < LIMIT_MB
    print(f"{'PASS' if ok else 'FAIL'}: the API stays under {LIMIT_MB:.0f} MB RSS (peak and VmHWM included)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
