"""The render benchmark's inputs: two generated recordings, a catalog and transcript, the overlays and plans."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from sidedata.facade import parse_side_data  # noqa: E402
from sidedata.records import Product, TranscriptCue  # noqa: E402
from sidedata.timeparse import TimeContext  # noqa: E402
from studio.cards import CardContent, qr_image, render_product_card  # noqa: E402
from studio.ffmpeg import run_ffmpeg  # noqa: E402
from studio.fonts import find_cjk_font  # noqa: E402
from studio.render import (  # noqa: E402
    CardOverlay,
    Preset,
    QrOverlay,
    RenderPlan,
    get_preset,
    make_plan,
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
