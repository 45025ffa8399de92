"""Command-line options shared by ``liveslice analyze`` and ``liveslice process`` (typer ``Annotated`` aliases)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

RecordingArg = Annotated[str, typer.Argument(help="A media file, or the id of a stored recording.")]
ProductsOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Product catalog.")]
TimelineOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Product timeline.")]
ChatOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Chat log.")]
OrdersOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Stream orders.")]
TranscriptOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="SRT/WebVTT.")]
StreamStartOpt = Annotated[
    datetime | None, typer.Option("--stream-start", help="Stream start (ISO 8601), for wall-clock files.")
]
MinLenOpt = Annotated[float, typer.Option(help="Shortest clip, seconds.")]
MaxLenOpt = Annotated[float, typer.Option(help="Longest clip, seconds.")]
