"""Command-line options shared by several commands (typer ``Annotated`` aliases), and their spellings.

One name per meaning, everywhere:

- ``--platform``: the platform preset(s) a clip is made for (douyin, kuaishou…); old name ``--preset``.
- ``--scoring``: the highlight scoring preset (sales, engagement, audio-only); old names ``--preset``
  (``analyze``) and ``--weights NAME`` (``process``).
- ``--weights k=v,...``: per-signal weights on top of the scoring preset.
- ``--stream-start``: when the stream started, for wall-clock side data; old name ``--stream-started-at``.

Old names stay as hidden options that print a deprecation warning (:func:`liveslice.cli.common.renamed`).
Booleans are flags (``--json``, ``--fast``, ``--captions/--no-captions``), shown without a value.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

PLATFORMS_HELP = "douyin, kuaishou, channels, xiaohongshu, tiktok, shorts, reels…"
SCORING_HELP = "Highlight scoring preset: sales, engagement or audio-only."
WEIGHTS_HELP = "Per-signal weights on top of --scoring, e.g. orders=0.5,chat=0.3 (0 = off)."


def _flag_help(option: Any) -> Any:
    """``--help`` listed as the flag it is (typer shows a value type for it otherwise)."""
    if option is not None:
        option.metavar = ""
    return option


class Group(TyperGroup):
    """A command group of the ``liveslice`` CLI."""

    def get_help_option(self, ctx: Any) -> Any:  # typer's own click types
        return _flag_help(super().get_help_option(ctx))


class Command(TyperCommand):
    """A command of the ``liveslice`` CLI."""

    def get_help_option(self, ctx: Any) -> Any:  # typer's own click types
        return _flag_help(super().get_help_option(ctx))


def command_group(help: str) -> typer.Typer:
    """A Typer app for a group of commands (``liveslice db``, ``liveslice keys``, ...)."""
    return typer.Typer(help=help, no_args_is_help=True, cls=Group, add_completion=False)


def flag(*names: str, help: str) -> Any:
    """A boolean flag (``--json``, or ``--captions/--no-captions``), listed in help without a value."""
    return typer.Option(*names, help=help, metavar="")


def old_name(name: str, new: str) -> Any:
    """A hidden, deprecated spelling of option ``new``."""
    return typer.Option(name, hidden=True, help=f"Deprecated: use {new}.")


RecordingArg = Annotated[str, typer.Argument(help="A media file, or the id of a stored recording.")]
ProductsOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Product catalog.")]
TimelineOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Product timeline.")]
ChatOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Chat log.")]
OrdersOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Stream orders.")]
TranscriptOpt = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="SRT/WebVTT.")]
LeadersOpt = Annotated[
    Path | None,
    typer.Option(exists=True, dir_okay=False, help="Leaders CSV/XLSX (name, share_url[, id]): a variant each."),
]
StreamStartOpt = Annotated[
    datetime | None, typer.Option("--stream-start", help="Stream start (ISO 8601), for wall-clock side data.")
]
StreamStartedAtOpt = Annotated[datetime | None, old_name("--stream-started-at", "--stream-start")]
ScoringOpt = Annotated[str, typer.Option("--scoring", help=SCORING_HELP)]
WeightsOpt = Annotated[str | None, typer.Option("--weights", help=WEIGHTS_HELP)]
MinLenOpt = Annotated[float, typer.Option(help="Shortest clip, seconds.")]
MaxLenOpt = Annotated[float, typer.Option(help="Longest clip, seconds.")]
FastOpt = Annotated[bool, flag("--fast", help="Keyframe-aligned stream copy, no overlays.")]
CaptionsOpt = Annotated[bool, flag("--captions/--no-captions", help="Burn in captions.")]
