"""``liveslice process``: the command line; the work is in :mod:`liveslice.cli.processing`, imported when it runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from liveslice.cli import common
from liveslice.cli.options import (
    PLATFORMS_HELP,
    CaptionsOpt,
    ChatOpt,
    FastOpt,
    LeadersOpt,
    MaxLenOpt,
    MinLenOpt,
    OrdersOpt,
    ProductsOpt,
    RecordingArg,
    ScoringOpt,
    StreamStartOpt,
    TimelineOpt,
    TranscriptOpt,
    WeightsOpt,
    flag,
    old_name,
)


def process(
    ctx: typer.Context,
    recording: RecordingArg,
    products: ProductsOpt = None,
    timeline: TimelineOpt = None,
    chat: ChatOpt = None,
    orders: OrdersOpt = None,
    transcript: TranscriptOpt = None,
    stream_start: StreamStartOpt = None,
    clips: Annotated[int, typer.Option(help="How many highlights to clip (each on every platform).")] = 10,
    platform: Annotated[
        str, typer.Option("--platform", help=f"Platform presets, comma separated: {PLATFORMS_HELP}")
    ] = "douyin",
    scoring: ScoringOpt = "sales",
    weights: WeightsOpt = None,
    min_len: MinLenOpt = 15.0,
    max_len: MaxLenOpt = 60.0,
    scenes: Annotated[bool, flag("--scenes", help="Also detect scene changes (decodes the video).")] = False,
    leaders: LeadersOpt = None,
    fast: FastOpt = False,
    captions: CaptionsOpt = True,
    out: Annotated[Path | None, typer.Option(file_okay=False, help="Folder for the clips and manifest.json.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=8, help="Clip stages run at once.")] = 2,
    as_json: Annotated[bool, flag("--json", help="Print manifest.json (schema in the README).")] = False,
    preset: Annotated[str | None, old_name("--preset", "--platform")] = None,
) -> None:
    """Find the highlights of a recording and make share-ready clips of them, here, with no server."""
    from liveslice.cli.analysis import AnalyzeCommandError, SideFiles, parse_weights
    from liveslice.cli.processing import process as run_process
    from liveslice.cli.rendering import RenderCommandError, read_leaders
    from pipeline.clipmaking import pipeline_options
    from services.clips import ClipError
    from studio.errors import StudioError

    platform = common.renamed(ctx, platform, preset, param="platform", new="--platform", old="--preset")
    if weights is not None and re.fullmatch(r"[A-Za-z][\w-]*", weights):  # --weights NAME: the old --scoring
        scoring = common.renamed(ctx, scoring, weights, param="scoring", new="--scoring", old="--weights NAME")
        weights = None
    settings = common.settings()
    common.ensure_db(settings)
    try:
        found = read_leaders(leaders) if leaders else []
        people = [{"id": p.id, "name": p.name, "share_url": p.share_url} for p in found]
        options = pipeline_options(
            clips=clips,
            presets=platform.split(","),
            weight_preset=scoring,
            weights=parse_weights(weights),
            min_len=min_len,
            max_len=max_len,
            scenes=scenes,
            leaders=people,
            mode="fast" if fast else "accurate",
            captions=captions,
        )
        files = SideFiles(products, timeline, chat, orders, transcript)
        view, manifest = run_process(
            settings, recording, files, options, out=out, stream_start=stream_start, concurrency=concurrency
        )
    except (AnalyzeCommandError, RenderCommandError) as exc:
        raise common.fail(str(exc), exc.exit_code) from exc
    except (ClipError, StudioError) as exc:
        raise common.fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    else:
        _print_summary(view, manifest)
    if view["status"] != "succeeded":
        raise common.fail(f"job {view['id']} {view['status']}: {view['error'] or ''}", 1)


def _print_summary(view: dict[str, Any], manifest: dict[str, Any]) -> None:
    from rich.table import Table

    from liveslice.cli.processing import summary_rows

    table = Table(title=f"liveslice process — job {view['id'][:8]} {view['status']} in {view['seconds']:.0f} s")
    for name in ("clip", "platform", "window (s)", "SKU", "score", "status", "files", "why"):
        table.add_column(name)
    for row in summary_rows(manifest):
        table.add_row(*row)
    common.console.print(table)
    common.console.print(f"clips and manifest.json are in {manifest['out']}", highlight=False)
    for warning in manifest["warnings"]:
        common.console.print(f"[yellow]warning:[/] {warning}", highlight=False)
