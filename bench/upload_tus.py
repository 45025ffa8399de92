"""Benchmark: a large resumable (tus) upload, cut at about half way, resumed, checked byte for byte.

Runs a real `liveslice serve --no-worker` process, uploads with the tuspy client through a
loopback proxy that drops the connection mid-PATCH, resumes, and samples the server's RSS the
whole time. The recording is a valid MPEG-TS made by repeating one generated segment (TS
concatenates byte-wise), so the final ingest accepts it.

    python bench/upload_tus.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studio.ffmpeg import run_ffmpeg
from tests.support.proxy import CuttingProxy

MiB = 1024 * 1024


def make_recording(path: Path, size: int) -> None:
    """A valid MPEG-TS of about ``size`` bytes: one noisy 10 MB segment repeated."""
    segment = path.with_suffix(".segment.ts")
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=8",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=duration=8:sample_rate=48000",
            "-vf",
            "noise=alls=80:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "10M",
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            str(segment),
        ]
    )
    chunk = segment.read_bytes()
    with path.open("wb") as out:
        written = 0
        while written < size:
            out.write(chunk)
            written += len(chunk)
    segment.unlink()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.baseline = pid, 0.0, rss_mb(pid)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=0, help="tus PATCH size (0: one PATCH for the whole file)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="liveslice-bench-upload-"))
    source = work / "recording.ts"
    print(f"making a {args.size_mb} MB recording in {work} ...", flush=True)
    make_recording(source, args.size_mb * MiB)
    size = source.stat().st_size
    chunk = args.chunk_mb * MiB or size

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_MEDIA_ROOT=str(work / "media"), LIVESLICE_MIN_FREE_BYTES="0")
    cli = [sys.executable, "-m", "liveslice"]
    secret = subprocess.run(
        [*cli, "keys", "create", "--role", "content", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--no-worker", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/docs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        sampler = RssSampler(server.pid)
        sampler.start()
        auth = {"Authorization": f"Bearer {secret}"}
        endpoint = "/api/uploads/tus/"
        started = time.monotonic()
        # the proxy cuts the connection that carries byte size/2: mid-PATCH when one PATCH spans it
        with CuttingProxy("127.0.0.1", port, cut_after=min(size // 2, chunk // 2)) as proxy:
            uploader = tus_client.TusClient(proxy.url + endpoint, headers=auth).uploader(
                str(source), chunk_size=chunk, metadata={"filename": "bench.ts"}
            )
            try:
                uploader.upload()
                raise SystemExit("the proxy did not cut the connection")
            except (TusUploadFailed, TusCommunicationError):
                pass  # the planned drop
        url = (uploader.url or "").replace(proxy.url, base)
        kept = int(httpx.head(url, headers={**auth, "Tus-Resumable": "1.0.0"}).headers["Upload-Offset"])
        resumed = tus_client.TusClient(base + endpoint, headers=auth).uploader(str(source), url=url, chunk_size=chunk)
        resumed.upload()
        elapsed = time.monotonic() - started
        sampler.stop()
        assert resumed.request is not None
        recording_id = resumed.request.response_headers["x-recording-id"]
        stored = next((work / "media" / "recordings" / recording_id).glob("source.*"))
        identical = sha256(stored) == sha256(source)
        print(f"upload size          {size / MiB:.0f} MB")
        print(f"cut at               {size // 2 / MiB:.0f} MB; server kept {kept / MiB:.1f} MB and resumed from it")
        print(f"total time           {elapsed:.1f} s ({size / MiB / elapsed:.0f} MB/s over loopback)")
        print(f"server RSS           baseline {sampler.baseline:.0f} MB, peak {sampler.peak:.0f} MB (target < 150 MB)")
        print(f"byte-identical       {identical}")
        if not identical or sampler.peak >= 150 or not 0 < kept < size:
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
