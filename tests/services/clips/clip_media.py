"""Clip test media: a small source with sound, small presets, a stored recording with side data, QR helpers.

Shared by the clip, CLI and web tests (fixtures in ``tests/services/clips/conftest.py`` wrap these).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import zxingcpp

from runtime.config import Settings
from services.ingest import ingest_file
from services.sidedata_import import import_side_data
from sidedata.records import Product, TranscriptCue
from store.db import get_sessionmaker
from studio.ffmpeg import resolve_ffmpeg, run_ffmpeg
from studio.render import PLATFORM_PRESETS, get_preset

#: douyin's layout (end-card QR policy) at 270x480: cheap to render.
SMALL = get_preset("douyin").scaled(270, 480, name="test-clips-small")
#: kuaishou's layout (corner QR allowed), big enough for a corner QR to survive compression.
CORNER = get_preset("kuaishou").scaled(540, 960, name="test-clips-corner")
BUY_URL = "https://shop.example.com/p/LS-0001"
CATALOG = (
    "sku,name,price,original_price,currency,coupon,image,buy_url\n"
    f"LS-0001,保湿面霜 Hydrating Cream,89.00,129.00,CNY,满99减10,,{BUY_URL}\n"
    "LS-0002,防晒喷雾 Sun Spray,59.90,79.00,CNY,,,https://shop.example.com/p/LS-0002\n"
)
TIMELINE = "sku,start,end\nLS-0001,0,4\nLS-0002,4,8\n"
TRANSCRIPT = (
    "1\n00:00:00,500 --> 00:00:02,500\n这款面霜今天只要八十九元\n\n2\n00:00:04,500 --> 00:00:06,000\n防晒喷雾上链接\n"
)
PRODUCTS = [
    Product(
        "LS-0001", "保湿面霜 Hydrating Cream", Decimal("89.00"), Decimal("129.00"), "CNY", "满99减10", None, BUY_URL
    ),
]
CUES = [TranscriptCue(0.5, 2.5, "这款面霜今天只要八十九元")]


def make_source(out: Path, *, video: str = "testsrc2", loud: tuple[float, float] | None = None) -> Path:
    """8 s of 320x180 ``video`` at 25 fps (a keyframe every second) with a 440 Hz tone, written to ``out``;
    with ``loud`` the tone is full only during that span (5% elsewhere)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    volume = ["-af", f"volume='if(between(t,{loud[0]},{loud[1]}),1.0,0.05)':eval=frame"] if loud else []
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"{video}=size=320x180:rate=25:duration=8",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=8",
            *volume,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(out),
        ],
        timeout=120,
    )
    return out


def corrupt_copy(source: Path, path: Path) -> Path:
    """``source`` with the bytes of its middle fifth zeroed: the region around 3-5 s no longer decodes."""
    data = bytearray(source.read_bytes())
    lo, hi = len(data) * 2 // 5, len(data) * 3 // 5
    data[lo:hi] = bytes(hi - lo)
    path.write_bytes(bytes(data))
    return path


def register_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the small test presets by name, so stored clips (which keep a preset name) can use them."""
    for preset in (SMALL, CORNER):
        monkeypatch.setitem(PLATFORM_PRESETS, preset.name, preset)


def store_recording(settings: Settings, clip_source: Path) -> str:
    """The source ingested (probed), with a catalog, a product timeline and a transcript imported."""
    session = get_sessionmaker(settings.database_url)()
    try:
        rec_id = ingest_file(
            settings, session, clip_source, filename="live.mp4", origin="upload", move=False
        ).recording.id
        for kind, name, text in (
            ("catalog", "catalog.csv", CATALOG),
            ("timeline", "timeline.csv", TIMELINE),
            ("transcript", "t.srt", TRANSCRIPT),
        ):
            import_side_data(
                settings,
                session,
                kind=kind,
                data=text.encode(),
                filename=name,
                recording_id=None if kind == "catalog" else rec_id,
            )
    finally:
        session.close()
    return rec_id


def frame(path: Path, seconds: float, out_dir: Path) -> np.ndarray:
    """The decoded RGB frame of a video at ``seconds``."""
    from PIL import Image

    png = out_dir / f"frame-{path.stem}-{seconds:.3f}.png"
    run_ffmpeg(["-loglevel", "error", "-y", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1", str(png)])
    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"))


def qr_texts(image: np.ndarray | Path | None) -> list[str]:
    """Every QR code zxing-cpp reads in an image (array or file)."""
    assert image is not None, "no image was made"
    if isinstance(image, Path):
        from PIL import Image

        with Image.open(image) as opened:
            image = np.asarray(opened.convert("RGB"))
    return [result.text for result in zxingcpp.read_barcodes(image)]


def decode_errors(path: Path) -> str:
    """What ``ffmpeg -v error -xerror -i V -f null -`` prints (empty for a clean file)."""
    import subprocess

    result = subprocess.run(
        [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else f" (exit {result.returncode})")
