"""``liveslice demo``: the command line; the work is in :mod:`liveslice.cli.demo_run`, imported when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common


def demo(
    out: Annotated[Path | None, typer.Option(help="Where to write the sample stream and side data.")] = None,
    duration: Annotated[float, typer.Option(min=300, help="Length of the generated stream, seconds.")] = 330.0,
) -> None:
    """Generate a sample live stream with side data and run every pipeline stage on it."""
    from liveslice.cli.demo_run import run_demo

    settings = common.settings()
    common.ensure_db(settings)
    run_demo(settings, out=out or settings.media_root / "demo", duration=duration, console=common.console)
