"""Benchmark the clip renderer against moviepy, a bare x264 encode, and 100 per-leader variants, in one run.

    python bench/render.py [--seconds 30] [--variants 100] [--skip-moviepy] [--moviepy-seconds N] [--json FILE]

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
import sys
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

from bench.render_measure import measure, qr_texts, side_by_side  # noqa: E402
from bench.render_media import (  # noqa: E402
    CLIP_PRESET,
    DEFAULT_WORKDIR,
    QR_SAMPLES,
    ROOT,
    SHARE_URL,
    SOURCE_SECONDS,
    SOURCES,
    START,
    TARGET_MOVIEPY,
    TARGET_SPEED,
    TARGET_VARIANTS,
    VARIANT_PRESET,
    _fit,
    _plan,
    card_content,
    make_overlays,
    make_side_data,
    make_source,
)
from sidedata.records import Product  # noqa: E402
from studio.cards import CardContent, render_end_card  # noqa: E402
from studio.ffmpeg import run_ffmpeg  # noqa: E402
from studio.render import (  # noqa: E402
    encoder_args,
    get_preset,
    render_clip,
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
