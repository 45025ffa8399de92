"""Benchmark: ``/s/{code}`` with click logging against a bare Starlette 302, in one run on loopback.

    .venv/bin/python bench/redirect.py [--seconds 10] [--connections 300] [--exact 3000]

Both servers run under uvicorn with the same settings (1 worker, uvloop, httptools, no access log),
pinned to CPU 0; the load generator (Debian's ``wrk``, 1 thread, ``--connections`` connections) runs on
CPU 1 (with fewer than 2 cores nothing is pinned and the report says so). The load is the same
for both: GETs over 5 share links, a quarter of them scans (``?qr=1``), one in ten a HEAD and one in ten
from a group-chat preview fetcher (the bare server ignores all of that).

(a) bare: a Starlette app that 302s from an in-memory dict of the same codes and targets;
(b) real: ``api.main.create_app`` on a SQLite database under a temporary media root, as ``liveslice serve``
    runs it: the API only buffers clicks, and ``liveslice clicks drain --follow`` stores them from its own
    process (pinned with the load generator; its work happens during the timed runs).

After the timed run the real server gets an exact-count phase: ``--exact`` requests (the same mix)
to a link of its own from an httpx client; the server is stopped (SIGTERM: its last drain) and the
Click rows are counted: exactly ``--exact`` for that link with the expected bots flagged, and for the
timed links between what ``wrk`` counted as answered and what it sent (its run ends mid-flight).

Targets: (b) reaches >= 50% of (a)'s requests per second, (b)'s p99 < 50 ms, no click lost.
Exit code: 0 targets met, 1 a click was lost or the servers failed, 3 a speed target was missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"
DINGTALK = "DingTalkBot-LinkService/1.0"
TARGET = "https://shop.example.com/p/LS-{n:04d}?from=live"
UVICORN = {
    "host": "127.0.0.1",
    "workers": 1,
    "loop": "uvloop",
    "http": "httptools",
    "log_level": "warning",
    "access_log": False,
    "backlog": 4096,
}
RATIO_TARGET, P99_TARGET_MS = 0.5, 50.0
SECRET = "bench-secret"

LUA = """
local paths = {PATHS}
local counter = 0
sent = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function request()
  counter = counter + 1
  sent = sent + 1
  local path = paths[(counter % #paths) + 1]
  if counter % 4 == 0 then path = path .. "?qr=1" end
  local method, agent = "GET", "SAFARI"
  if counter % 10 == 0 then method = "HEAD" elseif counter % 10 == 5 then agent = "DINGTALK" end
  return wrk.format(method, path, {["User-Agent"] = agent})
end
DELAY
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("sent") end
  io.write(string.format("SENT %d\\n", total))
end
"""


# --- the servers (run as child processes of this script) -------------------------------------------------


def serve_bare(port: int, codes_file: Path) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route

    targets: dict[str, str] = json.loads(codes_file.read_text())

    async def follow(request: Request) -> Response:
        target = targets.get(request.path_params["code"])
        if target is None:
            return PlainTextResponse("not found", status_code=404)
        return RedirectResponse(target, status_code=302)

    app = Starlette(routes=[Route("/s/{code}", follow, methods=["GET", "HEAD"])])
    uvicorn.run(app, port=port, **UVICORN)  # type: ignore[arg-type]


def serve_real(port: int, media: Path) -> None:
    import uvicorn

    from api.main import create_app
    from runtime.config import Settings

    settings = Settings(_env_file=None, media_root=media, secret_key=SECRET, min_free_bytes=0, click_drain="separate")
    uvicorn.run(create_app(settings), port=port, **UVICORN)  # type: ignore[arg-type]


# --- the run -----------------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    answered: int
    sent: int
    errors: str

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.rps:9.0f} req/s   p50 {self.p50_ms:6.2f} ms   p99 {self.p99_ms:6.2f} ms   "
            f"answered {self.answered}  sent {self.sent}{('  ' + self.errors) if self.errors else ''}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if cpu is not None else command


def start(mode: str, arg: Path, cpu: int | None, probe: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", mode, "--port", str(port), "--arg", str(arg)]
    server = subprocess.Popen(pinned(cpu, command), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + probe, timeout=1).status_code == 302:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the {mode} server did not start")


def start_drainer(media: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIVESLICE_MEDIA_ROOT": str(media), "LIVESLICE_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "liveslice", "clicks", "drain", "--follow"]
    return subprocess.Popen(pinned(cpu, command), cwd=ROOT, env=env)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def _ms(value: str) -> float:
    number, unit = float(re.match(r"[\d.]+", value).group()), re.sub(r"[\d.]+", "", value)  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def write_script(path: Path, paths: list[str], *, connections: int, rate: float | None) -> Path:
    """The wrk script: the request mix over ``paths``; with ``rate``, each connection waits a random
    0..2x(connections/rate) between requests, so the offered load is about ``rate`` req/s."""
    delay = ""
    if rate:
        delay = f"function delay() return math.random(0, {round(2000 * connections / rate)}) end"
    lua = LUA.replace("{PATHS}", "{" + ", ".join(f'"{p}"' for p in paths) + "}").replace("DELAY", delay)
    path.write_text(lua.replace('"SAFARI"', json.dumps(SAFARI)).replace('"DINGTALK"', json.dumps(DINGTALK)))
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(name: str, base: str, script: Path, seconds: int, connections: int, cpu: int | None) -> Figures:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(script),
        base,
    ]
    out = subprocess.run(pinned(cpu, command), check=True, capture_output=True, text=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if len(latency) != 2:
        raise SystemExit(f"wrk's output has no latency distribution:\n{out}")
    errors = " ".join(m.group(0).strip() for m in re.finditer(r"(Socket errors:.*|Non-2xx or 3xx responses:.*)", out))
    return Figures(
        name=name,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        answered=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        sent=int(re.search(r"SENT (\d+)", out).group(1)),  # type: ignore[union-attr]
        errors=errors,
    )


def mix(n: int) -> tuple[str, str, bool]:
    """The n-th request of the load: (method, user agent, scan), as the wrk script makes it."""
    method, agent = ("HEAD", SAFARI) if n % 10 == 0 else ("GET", DINGTALK if n % 10 == 5 else SAFARI)
    return method, agent, n % 4 == 0


async def exact_phase(base: str, code: str, count: int) -> Counter[str]:
    """``count`` requests of the mix to ``code`` (50 at a time); what was sent, by expected verdict."""
    expected: Counter[str] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(1, count + 1):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                method, agent, scan = mix(n)
                response = await client.request(
                    method, f"/s/{code}" + ("?qr=1" if scan else ""), headers={"user-agent": agent}
                )
                assert response.status_code == 302, response.status_code
                kind = (
                    "head"
                    if method == "HEAD"
                    else "preview:dingtalk"
                    if agent == DINGTALK
                    else ("scan" if scan else "click")
                )
                expected[kind] += 1

        await asyncio.gather(*(worker() for _ in range(50)))
    return expected


def prepare(media: Path, links: int) -> tuple[list[str], str, str]:
    """A migrated database with ``links`` timed links, one warm-up and one exact-phase link."""
    from runtime.config import Settings
    from store import share_links
    from store.db import session_scope, upgrade
    from store.models import Clip, Recording

    settings = Settings(_env_file=None, media_root=media, secret_key=SECRET, min_free_bytes=0, click_drain="separate")
    settings.ensure_dirs()
    upgrade(settings.database_url)
    codes: list[str] = []
    with session_scope(settings.database_url) as session:
        recording = Recording(title="bench", source="path", original_filename="b.mp4", status="ready", duration=60.0)
        session.add(recording)
        session.flush()
        for n in range(links + 2):
            clip = Clip(recording_id=recording.id, preset="douyin", start=1.0 + n, end=6.0 + n)
            session.add(clip)
            session.flush()
            codes.append(share_links.get_or_create_link(session, clip_id=clip.id, target_url=TARGET.format(n=n)).code)
    return codes[:links], codes[links], codes[links + 1]


def count_clicks(media: Path) -> dict[str, Counter[str]]:
    """Stored clicks per link code, by verdict (``click``, ``scan`` or the bot reason)."""
    from sqlalchemy import select

    from runtime.config import Settings
    from services.clicks import drain_clicks
    from store.db import session_scope
    from store.models import Click, ShareLink

    settings = Settings(_env_file=None, media_root=media, secret_key=SECRET, min_free_bytes=0, click_drain="separate")
    left = drain_clicks(settings, everything=True)  # what the stopped server's last drain had not stored
    print(f"after the server stopped: {left} clicks left in its buffer, stored now", flush=True)
    counts: dict[str, Counter[str]] = {}
    with session_scope(settings.database_url) as session:
        query = select(ShareLink.code, Click.kind, Click.bot_reason).join(ShareLink, ShareLink.id == Click.link_id)
        for code, kind, reason in session.execute(query):
            counts.setdefault(code, Counter())[reason or kind] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--links", type=int, default=5)
    parser.add_argument("--exact", type=int, default=3000, help="requests in the exact-count phase")
    parser.add_argument("--serve", choices=["bare", "real"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--arg", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "bare":
        serve_bare(args.port, args.arg)
        return 0
    if args.serve == "real":
        serve_real(args.port, args.arg)
        return 0
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    cores = os.cpu_count() or 1
    server_cpu, load_cpu = (0, 1) if cores >= 2 and shutil.which("taskset") else (None, None)
    conns, seconds = args.connections, args.seconds
    work = Path(tempfile.mkdtemp(prefix="bench-redirect-"))
    try:
        media = work / "media"
        codes, warm, exact = prepare(media, args.links)
        targets = {code: TARGET.format(n=n) for n, code in enumerate([*codes, warm, exact])}
        (work / "codes.json").write_text(json.dumps(targets))
        paths = [f"/s/{code}" for code in codes]
        load = write_script(work / "load.lua", paths, connections=conns, rate=None)
        warm_up = write_script(work / "warm.lua", [f"/s/{warm}"], connections=conns, rate=None)
        where = (
            f"server on CPU {server_cpu}; wrk (1 thread) and the click drainer on CPU {load_cpu}"
            if server_cpu is not None
            else "unpinned"
        )
        print(f"{cores} cores: {where}; {conns} connections, {seconds} s a run; uvicorn {UVICORN}", flush=True)

        saturated: dict[str, Figures] = {}
        paced: dict[str, Figures] = {}
        cpu_us: dict[str, float] = {}
        rate = 0.0
        real_counts: dict[str, Counter[str]] = {}
        expected: Counter[str] = Counter()
        real_sent = 0
        for mode, arg in (("bare", work / "codes.json"), ("real", media)):
            server, base = start(mode, arg, server_cpu, f"/s/{warm}")
            drainer = start_drainer(media, load_cpu) if mode == "real" else None
            try:
                for code in codes:  # the link cache holds them before the timed runs
                    assert httpx.get(f"{base}/s/{code}", headers={"user-agent": SAFARI}).status_code == 302
                run_wrk(f"{mode} warm-up", base, warm_up, 2, conns, load_cpu)
                before = cpu_seconds(server.pid)
                saturated[mode] = run_wrk(f"{mode}, flat out", base, load, seconds, conns, load_cpu)
                cpu_us[mode] = (cpu_seconds(server.pid) - before) / saturated[mode].answered * 1e6
                if mode == "bare":
                    rate = RATIO_TARGET * saturated[mode].rps  # the rate /s/{code} must reach
                paced_script = write_script(work / "paced.lua", paths, connections=conns, rate=rate)
                paced[mode] = run_wrk(f"{mode}, {rate:.0f} req/s", base, paced_script, seconds, conns, load_cpu)
                if mode == "real":
                    real_sent = saturated[mode].sent + paced[mode].sent
                    real_answered = saturated[mode].answered + paced[mode].answered
                    expected = asyncio.run(exact_phase(base, exact, args.exact))
            finally:
                stop(server)
                if drainer is not None:
                    stop(drainer)  # SIGTERM: it stores what the server's last file holds, then exits
            if mode == "real":
                real_counts = count_clicks(media)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for figures in (*saturated.values(), *paced.values()):
        print(figures.line())
    bare, real = saturated["bare"], saturated["real"]
    ratio = real.rps / bare.rps
    print(
        f"server CPU per request (flat out): bare {cpu_us['bare']:.0f} us, /s/{{code}} {cpu_us['real']:.0f} us "
        f"({cpu_us['bare'] / cpu_us['real']:.2f}x the bare rate per CPU second)"
    )
    print(
        f"/s/{{code}} vs bare, flat out at {conns} connections: {ratio:.2f}x the requests per second "
        f"(target >= {RATIO_TARGET:.2f}x); p99 {real.p99_ms:.1f} ms vs {bare.p99_ms:.1f} ms "
        f"(a saturated closed loop: latency ~ connections / throughput)"
    )
    print(
        f"/s/{{code}} at {rate:.0f} req/s (half the bare maximum) over {conns} connections: "
        f"p50 {paced['real'].p50_ms:.1f} ms, p99 {paced['real'].p99_ms:.1f} ms (target < {P99_TARGET_MS:.0f} ms; "
        f"bare {paced['bare'].p99_ms:.1f} ms)"
    )
    timed = sum(sum(real_counts.get(code, Counter()).values()) for code in codes)
    low, high = real_answered + len(codes), real_sent + len(codes)  # + the requests that warmed the cache
    got = real_counts.get(exact, Counter())
    print(
        f"timed runs: {timed} clicks stored; wrk answered {real_answered} and sent {real_sent} (+{len(codes)} warm-up)"
    )
    print(
        f"exact phase: sent {sum(expected.values())} {dict(sorted(expected.items()))}; "
        f"stored {sum(got.values())} {dict(sorted(got.items()))}"
    )
    lost = not (low <= timed <= high) or got != expected
    print(f"{'FAIL' if lost else 'PASS'}: every answered request was stored as a click, bots flagged")
    fast = ratio >= RATIO_TARGET and paced["real"].p99_ms < P99_TARGET_MS
    print(f"{'PASS' if fast else 'FAIL'}: speed targets")
    return 1 if lost else 0 if fast else 3


if __name__ == "__main__":
    raise SystemExit(main())
