"""Benchmark the clip renderer against moviepy, a bare x264 encode, and 100 per-leader variants, in one run.

    python bench/render.py [--seconds 30] [--variants 100] [--skip-moviepy] [--moviepy-seconds N]
                           [--workdir media/bench/render] [--json FILE]

Generates once (cached in the work dir) a 1280x720 and a 720x1280 recording, 40 s at 30 fps and about
3 Mbit/s (a swaying host, an animated product shot and film grain; synthetic speech over music), a
catalog with one Chinese-named product (price, original price, coupon, image) and an SRT transcript.
Then, for each recording, on the same ``--seconds`` excerpt at 1080x1920 (``kuaishou``: corner QR allowed):

* ``limit``: a bare encode with the same ``encoder_args(preset)``, plain scale + pad, no overlays;
* ``liveslice``: ``render_clip`` with the product card, captions, corner QR, blurred padding (landscape)
  or scaling (portrait) and loudness normalisation (its measuring pass included), validated;
* ``moviepy``: ``bench/moviepy_baseline.py`` drawing the same elements at the places liveslice computed.

Then one base render of the landscape excerpt without QR (``douyin``: QR on end cards only) and
``render_variants`` for ``--variants`` leaders, each with its own share URL and name on its end card
(cards drawn lazily, inside the timed total). A sample of variants must carry a QR that decodes to
its own URL (zxing-cpp). Each measurement runs in a fresh child process; peak RSS is the sampled sum
over the child's process tree (ffmpeg included), plus the child's and its largest child's own peaks.
Prints a table, the ratios and PASS/FAIL per target; ``--json`` dumps every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from sidedata.facade import parse_side_data  # noqa: E402
from sidedata.records import Product, TranscriptCue  # noqa: E402
from sidedata.timeparse import TimeContext  # noqa: E402
from studio.cards import CardContent, qr_image, render_end_card, render_product_card  # noqa: E402
from studio.ffmpeg import run_ffmpeg  # noqa: E402
from studio.fonts import find_cjk_font  # noqa: E402
from studio.render import (  # noqa: E402
    CardOverlay,
    Preset,
    QrOverlay,
    RenderPlan,
    encoder_args,
    get_preset,
    make_plan,
    render_clip,
)
from studio.synth import Scene, Span, StreamSpec, sample_stream_graph  # noqa: E402

DEFAULT_WORKDIR = ROOT / "media" / "bench" / "render"
SOURCES = {"landscape": (1280, 720), "portrait": (720, 1280)}
SOURCE_SECONDS, SOURCE_FPS, GENERATOR_VERSION = 40.0, 30, 1
START = 5.0  # the excerpt starts here in both recordings
CLIP_PRESET, VARIANT_PRESET = "kuaishou", "douyin"
SHARE_URL = "https://ls.example.com/s/Kq7Zx2Ab?m=qr"
QR_SIZE = 240
CARD_APPEAR, CARD_EASE = 0.5, 0.4
TARGET_SPEED, TARGET_MOVIEPY, TARGET_VARIANTS = 1.5, 10.0, 2.0
QR_SAMPLES = 5
CATALOG = (
    "sku,name,price,original_price,currency,coupon,image,buy_url\n"
    "LS-0001,保湿面霜 Hydrating Cream 限量礼盒装,89.00,129.00,CNY,满99减10,product.png,https://shop.example.com/p/1\n"
)
LINES = [
    "大家好，欢迎来到直播间！",
    "今天给大家带来这款保湿面霜",
    "直播价只要八十九元，原价一百二十九",
    "再送满99减10的优惠券",
    "干皮油皮都可以用，清爽不黏腻",
    "已经有三千多位姐妹下单了",
    "库存不多了，喜欢的赶紧上链接",
    "点击下方小黄车就能买到",
    "Hydrating Cream, 50 ml",
    "我们再看一下质地，非常细腻",
    "拍两件还能再便宜十块",
]


# -- assets (cached) ---------------------------------------------------------------------------------------


def _stream_spec() -> StreamSpec:
    speech: list[Span] = []
    t = 0.4
    while t < SOURCE_SECONDS - 1:  # spurts of 2-4 s with short pauses, like a host talking
        length = 2.0 + (len(speech) * 0.7) % 2.0
        speech.append(Span(t, min(SOURCE_SECONDS, t + length)))
        t += length + 0.45
    scene = Scene(0.0, SOURCE_SECONDS, "3A2E4A", title="保湿面霜 限量礼盒", lines=("直播价 ¥89  原价 ¥129", "满99减10"))
    return StreamSpec(duration=SOURCE_SECONDS, scenes=(scene,), speech=tuple(speech), channel_name="美妆好物直播间")


def make_source(kind: str, workdir: Path) -> Path:
    """The ``kind`` recording (landscape or portrait), rendered once per generator version."""
    width, height = SOURCES[kind]
    out, stamp = workdir / f"{kind}.mp4", workdir / f"{kind}.json"
    params = {"size": [width, height], "seconds": SOURCE_SECONDS, "fps": SOURCE_FPS, "version": GENERATOR_VERSION}
    if out.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == params:
        return out
    workdir.mkdir(parents=True, exist_ok=True)
    graph = workdir / f".{kind}.graph.txt"
    body = sample_stream_graph(_stream_spec(), width=width, height=height, fps=SOURCE_FPS, font=find_cjk_font().path)
    graph.write_text(body + ";\n[v]noise=alls=7:allf=t+u,format=yuv420p[vn]\n", encoding="utf-8")
    tmp = workdir / f".{kind}.part.mp4"
    print(f"generating {out.name} ({width}x{height}, {SOURCE_SECONDS:g} s; once) ...", file=sys.stderr, flush=True)
    run_ffmpeg(
        [
            "-y",
            "-v",
            "error",
            "-/filter_complex",
            str(graph),
            "-map",
            "[vn]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "3000k",
            "-maxrate",
            "4000k",
            "-bufsize",
            "6000k",
            "-g",
            str(SOURCE_FPS * 2),
            "-pix_fmt",
            "yuv420p",
            "-r",
            str(SOURCE_FPS),
            "-c:a",
            "aac",
            "-aac_coder",
            "fast",
            "-b:a",
            "128k",
            "-ar",
            "48000",
            "-ac",
            "2",
            "-t",
            f"{SOURCE_SECONDS:g}",
            "-movflags",
            "+faststart",
            str(tmp),
        ],
        duration=SOURCE_SECONDS,
    )
    os.replace(tmp, out)
    graph.unlink()
    stamp.write_text(json.dumps(params))
    return out


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_side_data(workdir: Path) -> tuple[Product, list[TranscriptCue]]:
    """Write the catalog (+ product image) and transcript, then import them as liveslice would."""
    image = workdir / "product.png"
    if not image.is_file():
        Image.radial_gradient("L").resize((320, 320)).convert("RGB").save(image)
    catalog = workdir / "catalog.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    cues = [(1.0 + 3.2 * i, 1.0 + 3.2 * i + 2.8, LINES[i % len(LINES)]) for i in range(int(SOURCE_SECONDS // 3.2))]
    srt = "\n".join(f"{i + 1}\n{_srt_time(s)} --> {_srt_time(e)}\n{text}\n" for i, (s, e, text) in enumerate(cues))
    (workdir / "transcript.srt").write_text(srt, encoding="utf-8")
    products = parse_side_data("catalog", catalog.read_bytes(), catalog.name, image_roots=[workdir]).products
    ctx = TimeContext(duration=SOURCE_SECONDS)
    transcript = parse_side_data("transcript", srt.encode(), "transcript.srt", ctx=ctx)
    return products[0], list(transcript.cues)


def card_content(product: Product) -> CardContent:
    image = Path(product.image) if product.image else None
    return CardContent(product.name, product.price, product.original_price, product.currency, product.coupon, image)


def make_overlays(run_dir: Path, product: Product, preset: Preset) -> tuple[Path, Path]:
    """The product card PNG (safe-area wide) and the corner QR PNG for ``SHARE_URL``."""
    margin = round(preset.width * 0.02)
    card, qr = run_dir / "card.png", run_dir / "qr.png"
    render_product_card(card_content(product), width=preset.safe_box[2] - 2 * margin).save(card)
    qr_image(SHARE_URL, size=QR_SIZE).save(qr)
    return card, qr


# -- measurements (each in a child process) ----------------------------------------------------------------


def _fit(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / src[0], box[1] / src[1])
    return min(box[0], max(2, round(src[0] * scale / 2) * 2)), min(box[1], max(2, round(src[1] * scale / 2) * 2))


def _plan(spec: dict[str, Any]) -> RenderPlan:
    cues = [TranscriptCue(*c) for c in spec["cues"]]
    card = CardOverlay(Path(spec["card"]), appear_at=CARD_APPEAR, entrance_seconds=CARD_EASE)
    qr = QrOverlay(Path(spec["qr"])) if spec.get("qr") else None
    preset = get_preset(spec["preset"])
    return make_plan(
        Path(spec["source"]), start=spec["start"], end=spec["end"], preset=preset, card=card, captions=cues, qr=qr
    )


def task_liveslice(spec: dict[str, Any]) -> dict[str, Any]:
    result = render_clip(_plan(spec), Path(spec["out"]))
    return {"gain_db": result.gain_db, "duration": result.duration, "checks": list(result.report.checks)}


def task_limit(spec: dict[str, Any]) -> dict[str, Any]:
    preset = get_preset(spec["preset"])
    fw, fh = _fit(tuple(spec["display"]), (preset.width, preset.height))
    pad = f"pad={preset.width}:{preset.height}:{(preset.width - fw) // 2}:{(preset.height - fh) // 2}"
    duration = spec["end"] - spec["start"]
    run_ffmpeg(
        [
            "-y",
            "-v",
            "error",
            "-ss",
            f"{spec['start']:.6f}",
            "-t",
            f"{duration:.6f}",
            "-i",
            spec["source"],
            "-vf",
            f"scale={fw}:{fh},{pad}",
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            *encoder_args(preset),
            spec["out"],
        ],
        duration=duration,
    )
    return {}


def moviepy_baseline() -> ModuleType:
    """``bench/moviepy_baseline.py``, imported only where used (it loads moviepy)."""
    sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module("moviepy_baseline")


def task_moviepy(spec: dict[str, Any]) -> dict[str, Any]:
    moviepy_baseline().render(spec["job"])
    return {}


class LazyCards(Mapping[str, Image.Image]):
    """Leader id -> end card, drawn when a variant asks for it (100 full-size cards never sit in memory)."""

    def __init__(self, leaders: dict[str, tuple[str, str]], content: CardContent, size: tuple[int, int]) -> None:
        self.leaders, self.content, self.size = leaders, content, size
        self.draw_seconds = 0.0

    def __getitem__(self, leader: str) -> Image.Image:
        name, url = self.leaders[leader]
        started = time.perf_counter()
        card = render_end_card(size=self.size, qr_url=url, leader=name, content=self.content)
        self.draw_seconds += time.perf_counter() - started
        return card

    def __iter__(self) -> Iterator[str]:
        return iter(self.leaders)

    def __len__(self) -> int:
        return len(self.leaders)


def task_variants(spec: dict[str, Any]) -> dict[str, Any]:
    from studio.render.variants import render_variants

    preset = get_preset(spec["preset"])
    leaders = {k: (v[0], v[1]) for k, v in spec["leaders"].items()}
    cards = LazyCards(leaders, CardContent(**spec["content"]), (preset.width, preset.height))
    paths = render_variants(
        Path(spec["base"]), cards, Path(spec["out_dir"]), preset=preset, seconds=spec["card_seconds"]
    )
    return {"count": len(paths), "draw_seconds": cards.draw_seconds}


TASKS = {"liveslice": task_liveslice, "limit": task_limit, "moviepy": task_moviepy, "variants": task_variants}


def child_main(spec_file: Path, result_file: Path) -> None:
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    started = time.perf_counter()
    extra = TASKS[spec["task"]](spec)
    seconds = time.perf_counter() - started
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "seconds": seconds,
        "self_rss_mb": own.ru_maxrss / 1024,
        "child_rss_mb": kids.ru_maxrss / 1024,
        "cpu_seconds": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        **extra,
    }
    result_file.write_text(json.dumps(result), encoding="utf-8")


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
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(spec_file), str(result_file)])
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


def run_source(kind: str, source: Path, common: dict[str, Any], args: argparse.Namespace, run_dir: Path) -> dict:
    from studio.probe import probe

    info = probe(source)
    spec = {**common, "source": str(source), "preset": CLIP_PRESET}
    limit = measure(
        f"{kind}-limit",
        {
            **spec,
            "task": "limit",
            "display": [info.display_width, info.display_height],
            "out": str(run_dir / f"{kind}-limit.mp4"),
        },
        run_dir,
    )
    live_out = run_dir / f"{kind}-liveslice.mp4"
    live = measure(f"{kind}-liveslice", {**spec, "task": "liveslice", "out": str(live_out)}, run_dir)
    live["qr_decoded"] = qr_texts(live_out, min(2.0, args.seconds / 2), run_dir)
    figures: dict[str, Any] = {"source": str(source), "limit": limit, "liveslice": live, "moviepy": None}
    if not args.skip_moviepy:
        mp_seconds = min(args.moviepy_seconds or args.seconds, args.seconds)
        mp_out = run_dir / f"{kind}-moviepy.mp4"
        job = moviepy_baseline().job_for_plan(
            _plan(spec),
            end=spec["start"] + mp_seconds,
            gain_db=live["gain_db"],
            out=mp_out,
            opaque_background=args.moviepy_opaque,
        )
        moviepy = measure(f"{kind}-moviepy", {"task": "moviepy", "job": job}, run_dir)
        moviepy["clip_seconds"] = mp_seconds
        moviepy["extrapolated"] = mp_seconds < args.seconds
        moviepy["measured_seconds"] = moviepy["seconds"]
        moviepy["seconds"] = moviepy["seconds"] * args.seconds / mp_seconds
        moviepy["qr_decoded"] = qr_texts(mp_out, min(2.0, mp_seconds / 2), run_dir)
        mids = [(c["start"] + c["end"]) / 2 for c in job["captions"] if 1.0 < (c["start"] + c["end"]) / 2 < mp_seconds]
        side_by_side(live_out, mp_out, (mids or [mp_seconds / 2])[0], run_dir / f"{kind}-liveslice-vs-moviepy.png")
        figures["moviepy"] = moviepy
    return figures


def leaders(count: int) -> dict[str, tuple[str, str]]:
    names = ["小米粥", "阿珍", "老王", "静静", "花花", "大伟", "莉莉", "阿强", "糖糖", "月月"]
    out = {}
    for i in range(count):
        token = hashlib.sha256(f"leader-{i}".encode()).hexdigest()[:10]
        out[f"leader{i:03d}"] = (f"{names[i % len(names)]}·{i + 1}号团", f"https://ls.example.com/s/{token}?m=qr")
    return out


def run_variants(
    source: Path, common: dict[str, Any], product: Product, args: argparse.Namespace, run_dir: Path
) -> dict[str, Any]:
    base_out = run_dir / "base.mp4"
    spec = {**common, "source": str(source), "preset": VARIANT_PRESET, "qr": None}
    base = measure("variant-base", {**spec, "task": "liveslice", "out": str(base_out)}, run_dir)
    who = leaders(args.variants)
    content = card_content(product)
    out_dir = run_dir / "variants"
    variants = measure(
        "variants",
        {
            "task": "variants",
            "preset": VARIANT_PRESET,
            "card_seconds": args.card_seconds,
            "base": str(base_out),
            "out_dir": str(out_dir),
            "leaders": who,
            "content": {
                **asdict(content),
                "price": str(content.price),
                "image": str(content.image),
                "original_price": str(content.original_price),
            },
        },
        run_dir,
    )
    ids = list(who)
    sample = sorted({ids[round(i * (len(ids) - 1) / max(1, QR_SAMPLES - 1))] for i in range(QR_SAMPLES)})
    decoded = {}
    for leader in sample:
        found = qr_texts(out_dir / f"base.{leader}.mp4", base["duration"] + args.card_seconds / 2, run_dir)
        decoded[leader] = {"expected": who[leader][1], "found": found, "ok": found == [who[leader][1]]}
    for path in out_dir.glob("base.*.mp4"):  # ~15 MB each: keep only the sampled ones
        if path.stem.split(".", 1)[1] not in sample:
            path.unlink()
    return {"base": base, "variants": variants, "qr_samples": decoded}


def verdicts(figures: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, str]]:
    """(PASS|FAIL|SKIP|INFO, line) per target."""
    lines: list[tuple[str, str]] = []
    for kind, f in figures["sources"].items():
        live, limit, mp = f["liveslice"], f["limit"], f["moviepy"]
        speed = args.seconds / live["seconds"]
        ok = "PASS" if speed >= TARGET_SPEED else "FAIL"
        lines.append((ok, f"{kind}: liveslice renders at {speed:.2f}x real time (target >= {TARGET_SPEED}x)"))
        qr_ok = live["qr_decoded"] == [SHARE_URL]
        lines.append(("PASS" if qr_ok else "FAIL", f"{kind}: liveslice corner QR decodes to the share URL"))
        lines.append(
            (
                "INFO",
                f"{kind}: render / bare-encode limit = {live['seconds'] / limit['seconds']:.2f}x "
                f"({live['seconds']:.1f} s vs {limit['seconds']:.1f} s)",
            )
        )
        if mp is None:
            lines.append(("SKIP", f"{kind}: moviepy / liveslice (--skip-moviepy)"))
            continue
        ratio = mp["seconds"] / live["seconds"]
        label = f" (EXTRAPOLATED from a {mp['clip_seconds']:g} s moviepy excerpt)" if mp["extrapolated"] else ""
        ok = "PASS" if ratio >= TARGET_MOVIEPY else "FAIL"
        lines.append((ok, f"{kind}: moviepy / liveslice = {ratio:.1f}x (target >= {TARGET_MOVIEPY:g}x){label}"))
        same = mp["qr_decoded"] == [SHARE_URL]
        lines.append(("PASS" if same else "FAIL", f"{kind}: moviepy output shows the same QR (parity check)"))
    v = figures.get("variants")
    if v:
        ratio = v["variants"]["seconds"] / v["base"]["seconds"]
        ok = "PASS" if ratio <= TARGET_VARIANTS else "FAIL"
        lines.append(
            (
                ok,
                f"{v['variants']['count']} variants: {v['variants']['seconds']:.1f} s = {ratio:.2f}x the "
                f"base render {v['base']['seconds']:.1f} s (target <= {TARGET_VARIANTS:g}x)",
            )
        )
        good = sum(s["ok"] for s in v["qr_samples"].values())
        ok = "PASS" if good == len(v["qr_samples"]) else "FAIL"
        lines.append((ok, f"variants: {good}/{len(v['qr_samples'])} sampled end-card QRs decode to their own URL"))
    return lines


def report(figures: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, str]]:
    print(
        f"\n{args.seconds:g} s excerpt -> {CLIP_PRESET} 1080x1920, x264 veryfast CRF 23, AAC 48 kHz; "
        f"load average {figures['load_before'][0]:.2f} before, {figures['load_after'][0]:.2f} after"
    )
    print(
        f"{'source':<10} {'run':<10} {'wall s':>8} {'x real':>7} {'cpu s':>7} {'tree RSS MB':>12} "
        f"{'self MB':>8} {'child MB':>9}"
    )
    rows = [(k, n, f[n]) for k, f in figures["sources"].items() for n in ("limit", "liveslice", "moviepy") if f[n]]
    if figures.get("variants"):
        rows += [
            ("landscape", "base", figures["variants"]["base"]),
            ("landscape", "variants", figures["variants"]["variants"]),
        ]
    for kind, name, m in rows:
        speed = f"{args.seconds / m['seconds']:.2f}" if name != "variants" else "-"
        star = "*" if m.get("extrapolated") else ""
        print(
            f"{kind:<10} {name:<10} {m['seconds']:>7.1f}{star or ' '} {speed:>7} {m['cpu_seconds']:>7.1f} "
            f"{m['tree_rss_mb']:>12.0f} {m['self_rss_mb']:>8.0f} {m['child_rss_mb']:>9.0f}"
        )
    if any(m.get("extrapolated") for _, _, m in rows):
        print("* EXTRAPOLATED: moviepy ran on a shorter excerpt (--moviepy-seconds); time scaled to the full length")
    if figures.get("variants"):
        v = figures["variants"]["variants"]
        n = max(1, v["count"])
        print(
            f"variants: {v['seconds'] / n:.3f} s per variant ({v['draw_seconds'] / n:.3f} s of it drawing the "
            f"end card), {VARIANT_PRESET}, {args.card_seconds:g} s end card, concat copy, validated"
        )
    lines = verdicts(figures, args)
    print()
    for verdict, line in lines:
        print(f"[{verdict}] {line}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="excerpt length")
    parser.add_argument("--variants", type=int, default=100, help="leader variants (0: skip)")
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument(
        "--moviepy-seconds",
        type=float,
        default=None,
        help="shorter moviepy excerpt; its time is extrapolated and labelled so",
    )
    parser.add_argument(
        "--moviepy-opaque",
        action="store_true",
        help="give moviepy's composite an opaque black background (faster than its default)",
    )
    parser.add_argument("--card-seconds", type=float, default=3.0, help="variant end-card length")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    if not 1 <= args.seconds <= SOURCE_SECONDS - START:
        parser.error(f"--seconds must be 1..{SOURCE_SECONDS - START:g}")
    workdir = args.workdir.absolute()
    run_dir = workdir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in run_dir.rglob("*.mp4"):
        old.unlink()
    figures: dict[str, Any] = {"load_before": os.getloadavg(), "seconds": args.seconds, "sources": {}}
    sources = {kind: make_source(kind, workdir) for kind in SOURCES}
    product, cues = make_side_data(workdir)
    card, qr = make_overlays(run_dir, product, get_preset(CLIP_PRESET))
    common = {
        "start": START,
        "end": START + args.seconds,
        "card": str(card),
        "qr": str(qr),
        "cues": [[c.start, c.end, c.text] for c in cues],
    }
    for kind, source in sources.items():
        print(f"{kind}:", file=sys.stderr)
        figures["sources"][kind] = run_source(kind, source, common, args, run_dir)
    if args.variants > 0:
        figures["variants"] = run_variants(sources["landscape"], common, product, args, run_dir)
    figures["load_after"] = os.getloadavg()
    lines = report(figures, args)
    figures["verdicts"] = [{"verdict": v, "line": line} for v, line in lines]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    raise SystemExit(1 if any(v == "FAIL" for v, _ in lines) else 0)


if __name__ == "__main__":
    main()
