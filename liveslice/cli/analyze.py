"""``liveslice analyze``: the command line; the work is in :mod:`liveslice.cli.analysis`, imported when it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import (
    ChatOpt,
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


def analyze(
    ctx: typer.Context,
    recording: RecordingArg,
    products: ProductsOpt = None,
    timeline: TimelineOpt = None,
    chat: ChatOpt = None,
    orders: OrdersOpt = None,
    transcript: TranscriptOpt = None,
    stream_start: StreamStartOpt = None,
    clips: Annotated[int, typer.Option(help="How many highlights (locked ones included).")] = 10,
    scoring: ScoringOpt = "sales",
    weights: WeightsOpt = None,
    min_len: MinLenOpt = 15.0,
    max_len: MaxLenOpt = 60.0,
    scenes: Annotated[bool, flag("--scenes", help="Also detect scene changes (decodes the video).")] = False,
    as_json: Annotated[bool, flag("--json", help="Print one JSON document (schema in the README).")] = False,
    preset: Annotated[str | None, old_name("--preset", "--scoring")] = None,
) -> None:
    """Find the selling moments of a recording and say why each was picked.

    A media file is analysed here with no database; a recording id gets the files imported and its
    highlights stored.
    """
    from liveslice.cli.analysis import AnalyzeCommandError, SideFiles, file_params, parse_weights
    from studio.errors import StudioError

    scoring = common.renamed(ctx, scoring, preset, param="scoring", new="--scoring", old="--preset")
    files = SideFiles(products, timeline, chat, orders, transcript)
    path = Path(recording)
    try:
        chosen = parse_weights(weights)
        if path.is_file():
            from liveslice.cli.analysis import analyze_file
            from runtime.config import get_settings

            params = file_params(
                clips=clips, preset=scoring, weights=chosen, min_len=min_len, max_len=max_len, scenes=scenes
            )
            with common.progress_bar("analyse") as on_progress:
                document = analyze_file(
                    get_settings(), path, files, params=params, stream_start=stream_start, on_progress=on_progress
                )
        else:
            from liveslice.cli.analysis import analyze_recording
            from pipeline.analysis import analysis_params

            params = analysis_params(
                clips=clips, preset=scoring, weights=chosen, min_len=min_len, max_len=max_len, scenes=scenes
            )
            settings = common.settings()
            common.ensure_db(settings)
            with common.progress_bar("analyse") as on_progress:
                document = analyze_recording(
                    settings, recording, files, params=params, stream_start=stream_start, on_progress=on_progress
                )
    except AnalyzeCommandError as exc:
        raise common.fail(str(exc), exc.exit_code) from exc
    except StudioError as exc:  # bad parameters (AnalysisError) are caught before any work starts
        raise common.fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    from liveslice.cli.analysis import highlights_table, notes

    where = document["recording"].get("path") or document["recording"].get("id")
    common.console.print(highlights_table(document["highlights"], title=f"Highlights of {where}"))
    for line in notes(document):
        common.console.print(line, highlight=False, soft_wrap=True)
