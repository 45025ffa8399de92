"""Per-leader variants: end card + stream-copy join vs re-rendering the clip with each leader's QR burned in.

    python bench/variants_method.py [--n 10] [--seconds 10] [--preset douyin] [--size WxH] [--rerender-n N]

Makes a ``--seconds`` source (moving test pattern + tone), renders the base clip from it once with
``encoder_args(preset)``, then times, in the same run:

- **end card**: ``render_variants`` for ``--n`` leaders (one 3 s end-card encode + one concat copy each,
  validated), ``--workers`` ffmpeg processes at a time;
- **re-render**: ``--n`` full encodes of the same source with that leader's QR overlaid in a corner,
  the same flags, the same parallelism.

Prints both totals, per-variant costs, their ratio, and the end-card total against one base render.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from studio.cards import qr_image, render_end_card  # noqa: E402
from studio.ffmpeg import run_ffmpeg  # noqa: E402
from studio.render.presets import Preset, encoder_args, get_preset  # noqa: E402
from studio.render.variants import render_variants  # noqa: E402

OUT = ROOT / "bench" / "out"


def make_source(path: Path, *, preset: Preset, seconds: float) -> None:
    """A lossless-ish mezzanine source at the preset's size (so both methods start from the same pixels)."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s={preset.width}x{preset.height}:r={preset.fps}:d={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=330:sample_rate=48000:d={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "10",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-y",
            str(path),
        ]
    )


def render(source: Path, out: Path, *, preset: Preset, qr: Path | None = None) -> None:
    """The clip as the renderer would encode it, optionally with a QR in the top-right corner."""
    inputs = ["-i", str(source)]
    graph: list[str] = []
    if qr is not None:
        inputs += ["-i", str(qr)]
        graph = [
            "-filter_complex",
            f"[0:v][1:v]overlay=x=W-w-{preset.safe_right}:y={preset.safe_top}[v]",
            "-map",
            "[v]",
            "-map",
            "0:a",
        ]
    run_ffmpeg([*inputs, *graph, *encoder_args(preset), "-y", str(out)])


def timed(label: str, fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    took = time.perf_counter() - start
    print(f"{label:<44} {took:8.2f} s", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="variants per method")
    parser.add_argument("--seconds", type=float, default=10.0, help="base clip length")
    parser.add_argument("--preset", default="douyin")
    parser.add_argument("--size", default="", help="WxH to scale the preset to (default: the preset's own)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--card-seconds", type=float, default=3.0)
    parser.add_argument("--rerender-n", type=int, default=-1, help="re-render only this many (default: --n)")
    args = parser.parse_args()

    preset = get_preset(args.preset)
    if args.size:
        width, height = (int(v) for v in args.size.lower().split("x"))
        preset = preset.scaled(width, height)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="variants-bench-", dir=OUT) as tmp:
        work = Path(tmp)
        source, base = work / "source.mp4", work / "base.mp4"
        make_source(source, preset=preset, seconds=args.seconds)
        urls = {f"leader{i:03d}": f"https://s.example.com/s/{i:06d}Xq?src=qr" for i in range(args.n)}
        print(
            f"{args.n} variants of a {args.seconds:g} s {preset.width}x{preset.height} clip, "
            f"{args.workers} ffmpeg at a time, {args.card_seconds:g} s end card"
        )
        base_s = timed("base render (once)", lambda: render(source, base, preset=preset))

        cards: dict[str, Image.Image | Path] = {}

        def draw_cards() -> None:
            for leader, url in urls.items():
                cards[leader] = render_end_card(
                    size=(preset.width, preset.height), qr_url=url, leader=leader, content=None
                )

        draw_s = timed("draw end cards (Pillow, all)", draw_cards)
        card_s = timed(
            "end card + concat copy (all, validated)",
            lambda: render_variants(
                base, cards, work / "endcard", preset=preset, seconds=args.card_seconds, workers=args.workers
            ),
        )

        qr_side = round(min(preset.width, preset.height) * 0.22)
        qrs = {}
        for leader, url in urls.items():
            qrs[leader] = work / f"qr-{leader}.png"
            qr_image(url, size=qr_side).save(qrs[leader])
        (work / "burned").mkdir()

        burned = list(urls)[: args.rerender_n if args.rerender_n >= 0 else args.n]

        def burn_all() -> None:
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                jobs = [
                    pool.submit(render, source, work / "burned" / f"{leader}.mp4", preset=preset, qr=qrs[leader])
                    for leader in burned
                ]
                for job in jobs:
                    job.result()

        burn_s = timed(f"re-render with burned-in QR ({len(burned)})", burn_all)

    n, n_burned = max(1, args.n), max(1, len(burned))
    print(
        f"per variant: end card {card_s / n:.3f} s (+ {draw_s / n:.3f} s drawing), re-render {burn_s / n_burned:.3f} s"
    )
    print(f"ratio re-render / end card, per variant: {(burn_s / n_burned) / (card_s / n):.1f}x")
    print(
        f"end-card variants vs one base render: {card_s / base_s:.2f}x for {n} "
        f"(projected {card_s / n * 100 / base_s:.2f}x for 100)"
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of one ffmpeg child: {peak:.0f} MB")


if __name__ == "__main__":
    main()
