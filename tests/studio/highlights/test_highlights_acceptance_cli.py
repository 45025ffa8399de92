"""Acceptance: ``liveslice analyze --json`` on a recording and side data made here, independently.

The recording is plain ffmpeg lavfi (not ``studio.synth``): a 4-minute 180x320 video at 5 fps with
background music (a chord under a slow tremolo), a speech-like tone that talks 3.0 s and pauses 0.8 s,
and one loud crowd-noise decoy with no chat and no orders. The side data is written by hand to
``shared/FORMATS.md``: a catalog with Chinese headers and names (UTF-8 with BOM), a timeline with
``HH:MM:SS`` times, a chat JSONL with a burst of 上链接 at each selling moment, stream orders with a
spike one second later, and an SRT transcript where the host names the product and says 上链接 / 秒杀.

The CLI runs as a subprocess; its stdout is one JSON document (see the README's schema).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from studio.ffmpeg import run_ffmpeg

pytestmark = pytest.mark.slow

DURATION = 240.0
TALK, PAUSE = 3.0, 0.8  # the speech-like tone: talk spurts start every 3.8 s
DECOY = (100.0, 103.0)  # loud crowd noise inside product B's segment, no chat, no orders
PEAK_TOLERANCE = 2.0


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: str
    original: str
    start: float  # product segment on air
    end: float
    moment: float  # the host says 上链接 here; the chat burst starts here, the order spike 1 s later

    @property
    def short(self) -> str:
        return self.name.split(" ")[0]


PRODUCTS = (
    Product("TEA-01", "桂花乌龙茶 Osmanthus Oolong", "59.00", "89.00", 8.0, 84.0, round(15 * (TALK + PAUSE), 3)),
    Product("TWL-02", "竹纤维毛巾 Bamboo Towel", "29.90", "49.00", 84.0, 160.0, round(35 * (TALK + PAUSE), 3)),
    Product("KET-03", "手冲咖啡壶 Pour-over Kettle", "159.00", "239.00", 161.5, 236.0, round(54 * (TALK + PAUSE), 3)),
)


def hms(seconds: float) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}" + (f".{ms:03d}" if ms else "")


def srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{hms(millis // 1000)},{millis % 1000:03d}"


def make_recording(path: Path) -> Path:
    """The 4-minute recording: music + speech-like tone in spurts + one loud decoy."""
    period = TALK + PAUSE
    music = "0.035*(sin(2*PI*196*t)+sin(2*PI*246.94*t)+sin(2*PI*293.66*t))*(1+0.35*sin(2*PI*0.4*t))"
    phase = "(2*PI*150*t+30*sin(2*PI*0.5*t))"
    voice = (
        f"0.22*(0.6*sin({phase})+0.3*sin(2*{phase})+0.15*sin(3*{phase}))"
        f"*(0.35+0.65*abs(sin(2*PI*2.2*t)))*lt(mod(t,{period:g}),{TALK:g})"
    )
    graph = (
        f"aevalsrc=exprs='{music}+{voice}':s=16000:d={DURATION:g}[bed];"
        f"anoisesrc=c=pink:a=0.9:r=16000:d={DURATION:g}:seed=11,"
        f"volume='between(t,{DECOY[0]:g},{DECOY[1]:g})':eval=frame[crowd];"
        "[bed][crowd]amix=inputs=2:normalize=0,aresample=44100[a]"
    )
    run_ffmpeg(
        [
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=180x320:r=5:d={DURATION:g}",
            "-filter_complex",
            graph,
            "-map",
            "0:v",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-t",
            f"{DURATION:g}",
            "-movflags",
            "+faststart",
            str(path),
        ],
        duration=DURATION,
    )
    return path


def _poisson(rng: random.Random, start: float, end: float, rate: float) -> list[float]:
    times: list[float] = []
    t = start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return times
        times.append(round(t, 2))


def _quiet(t: float) -> bool:
    """No audience activity from 2 s before the decoy to 6 s after it."""
    return DECOY[0] - 2.0 <= t <= DECOY[1] + 6.0


def write_side_data(folder: Path, seed: int = 5) -> dict[str, Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in ("catalog.csv", "timeline.csv", "chat.jsonl", "orders.csv", "cues.srt")}

    catalog = "商品编码,商品名称,直播价,原价,优惠券\n" + "".join(
        f"{p.sku},{p.name},￥{p.price},{p.original},满50减5\n" for p in PRODUCTS
    )
    files["catalog.csv"].write_bytes(b"\xef\xbb\xbf" + catalog.encode("utf-8"))

    timeline = "sku,start,end\n" + "".join(f"{p.sku},{hms(p.start)},{hms(p.end)}\n" for p in PRODUCTS)
    files["timeline.csv"].write_text(timeline, encoding="utf-8")

    users = ["小鹿", "阿宝", "momo", "晴天", "Leo_77", "橙子", "大熊", "木木"]
    chat: list[tuple[float, str, str, str]] = []
    for t in _poisson(rng, 0.0, DURATION, 0.4):
        chat.append((t, rng.choice(users), rng.choice(["主播好", "多少钱", "好看", "包邮吗", "来了"]), "comment"))
    for t in _poisson(rng, 0.0, DURATION, 0.05):
        chat.append((t, rng.choice(users), "送出 小心心", "gift"))
    for p in PRODUCTS:
        for t in _poisson(rng, p.moment, p.moment + 10.0, 6.0):
            chat.append((t, rng.choice(users), rng.choice(["上链接", "上链接！", "已拍", "冲", "3号链接"]), "comment"))
        for t in _poisson(rng, p.moment, p.moment + 10.0, 0.6):
            chat.append((t, rng.choice(users), "送出 玫瑰", "gift"))
    rng.shuffle(chat)  # platforms export unsorted rows; the importer sorts them
    files["chat.jsonl"].write_text(
        "".join(
            json.dumps({"ts": hms(t), "user": u, "text": text, "kind": kind}, ensure_ascii=False) + "\n"
            for t, u, text, kind in chat
            if not _quiet(t)
        ),
        encoding="utf-8",
    )

    orders = ["ts,sku,qty,amount,order_id"]
    serial = 1000
    for p in PRODUCTS:
        stamps = _poisson(rng, p.start, p.end, 0.03) + _poisson(rng, p.moment + 1.0, p.moment + 7.0, 3.0)
        for t in sorted(s for s in stamps if not _quiet(s)):
            qty = rng.choice([1, 1, 1, 2])
            serial += 1
            orders.append(f"{hms(t)},{p.sku},{qty},{float(p.price) * qty:.2f},XS{serial}")
    files["orders.csv"].write_text("\n".join(orders) + "\n", encoding="utf-8")

    cues: list[tuple[float, float, str]] = []
    for p in PRODUCTS:
        en = p.name.split(" ", 1)[1]
        cues.append((p.start + 4.0, p.start + 7.0, f"接下来给大家介绍这款{p.short}"))
        cues.append((p.start + 20.0, p.start + 23.0, f"this {en} is our best seller"))
        cues.append((p.moment, p.moment + TALK, f"上链接！{p.short} 秒杀价{p.price}元"))
    cues.append((DECOY[1] + 1.0, DECOY[1] + 3.0, "谢谢大家的掌声"))
    cues.sort()

    srt = "".join(f"{i}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))
    files["cues.srt"].write_text(srt, encoding="utf-8")
    return files


def run_analyze(video: Path, workdir: Path, *extra: str) -> dict[str, Any]:
    """``python -m liveslice analyze VIDEO ... --json`` in a clean environment; stdout parsed as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env["LIVESLICE_MEDIA_ROOT"] = str(workdir / "media")
    proc = subprocess.run(
        [sys.executable, "-m", "liveslice", "analyze", str(video), *extra, "--json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-4000:]}"
    )
    document: dict[str, Any] = json.loads(proc.stdout)
    return document


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("acceptance")
    video = make_recording(folder / "live_replay.mp4")
    return video, write_side_data(folder / "side")


def _contains(h: dict[str, Any], t: float) -> bool:
    return float(h["start"]) <= t <= float(h["end"])


def test_cli_finds_the_planted_selling_moments(recording: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    video, files = recording
    doc = run_analyze(
        video,
        tmp_path,
        "--products",
        str(files["catalog.csv"]),
        "--timeline",
        str(files["timeline.csv"]),
        "--chat",
        str(files["chat.jsonl"]),
        "--orders",
        str(files["orders.csv"]),
        "--transcript",
        str(files["cues.srt"]),
        "--clips",
        "3",
    )
    assert set(doc) >= {"recording", "highlights", "signals", "missing", "warnings", "weights", "hz"}
    assert doc["missing"] == {}, doc["missing"]
    assert doc["signals"]["orders"]["available"] and doc["signals"]["chat"]["available"]
    highlights = doc["highlights"]
    assert len(highlights) == 3, highlights
    for h in highlights:
        assert set(h) >= {"start", "end", "score", "rank", "sku", "peak", "contributions", "reason"}
        assert 0.0 <= h["start"] < h["end"] <= DURATION + 0.5
    selling_ranks = []
    for p in PRODUCTS:
        found = [h for h in highlights if _contains(h, p.moment)]
        assert len(found) == 1, (p.sku, p.moment, highlights)
        (h,) = found
        # peak: the call to action the audience answered; the chat burst starts there, the orders 1 s later
        assert abs(h["peak"] - p.moment) <= PEAK_TOLERANCE, (p.sku, h["peak"], p.moment)
        assert abs(h["peak"] - (p.moment + 1.0)) <= PEAK_TOLERANCE
        assert h["sku"] == p.sku, (h["sku"], p.sku)
        assert "orders" in h["reason"] and "chat" in h["reason"], h["reason"]
        assert h["contributions"].get("orders", 0) > 0 and h["contributions"].get("chat", 0) > 0
        selling_ranks.append(h["rank"])
    assert sorted(selling_ranks) == [1, 2, 3]
    # Under the default (sales) preset the order spikes outrank the louder decoy: it is not picked on its own,
    # and no window holding it beats a selling moment.
    for h in highlights:
        if h["start"] < DECOY[1] and DECOY[0] < h["end"] and not any(_contains(h, p.moment) for p in PRODUCTS):
            assert h["rank"] > max(selling_ranks)


def test_cli_degrades_to_audio_without_side_data(recording: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    video, _ = recording
    doc = run_analyze(video, tmp_path, "--clips", "3")
    assert {"orders", "chat", "keywords"} <= set(doc["missing"]), doc["missing"]
    assert all(isinstance(note, str) and note for note in doc["missing"].values())
    assert doc["signals"]["loudness"]["available"]
    highlights = doc["highlights"]
    assert 1 <= len(highlights) <= 3
    for h in highlights:
        assert 0.0 <= h["start"] < h["end"] <= DURATION + 0.5
        assert h["sku"] is None  # nothing to tag with
    top = min(highlights, key=lambda h: h["rank"])
    # Loudness alone: the crowd-noise decoy is now the strongest moment.
    assert top["start"] <= DECOY[0] + PEAK_TOLERANCE and DECOY[0] - PEAK_TOLERANCE <= top["peak"] <= DECOY[1]
    assert "loudness" in top["reason"], top["reason"]
