"""``liveslice render``: the command line; the work is in :mod:`liveslice.cli.rendering`, imported when it runs.

Exit 2: bad input (times, SKU, font, corrupt source region, side-data files); exit 1: a failed render.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import (
    PLATFORMS_HELP,
    CaptionsOpt,
    FastOpt,
    LeadersOpt,
    ProductsOpt,
    RecordingArg,
    TranscriptOpt,
    flag,
    old_name,
)


def render(
    ctx: typer.Context,
    recording: RecordingArg,
    start: Annotated[str, typer.Option(help="Start: seconds, MM:SS or HH:MM:SS[.mmm].")],
    end: Annotated[str, typer.Option(help="End: seconds, MM:SS or HH:MM:SS[.mmm].")],
    sku: Annotated[str | None, typer.Option(help="Product to show (default: the one on air mid-clip).")] = None,
    products: ProductsOpt = None,
    transcript: TranscriptOpt = None,
    platform: Annotated[str, typer.Option("--platform", help=f"Platform preset: {PLATFORMS_HELP}")] = "douyin",
    share_url: Annotated[str | None, typer.Option(help="The link the QR codes carry (default: buy_url).")] = None,
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="Output MP4 (cover/poster beside it).")] = None,
    fast: FastOpt = False,
    captions: CaptionsOpt = True,
    reframe: Annotated[str, typer.Option(help="auto, blur, crop or subject.")] = "auto",
    leaders: LeadersOpt = None,
    as_json: Annotated[bool, flag("--json", help="Print the clip's manifest as JSON.")] = False,
    preset: Annotated[str | None, old_name("--preset", "--platform")] = None,
) -> None:
    """Render one platform-ready clip: card, captions, QR, cover, poster and per-leader variants."""
    from liveslice.cli.rendering import (
        REFRAMES,
        RenderCommandError,
        RenderRequest,
        parse_time,
        print_summary,
        read_leaders,
        render_file,
        render_stored,
    )
    from runtime.config import get_settings
    from services.clips import ClipError
    from store.recordings import MissingMedia
    from studio.errors import StudioError, ToolchainError
    from studio.render import RenderFailed, RenderValidationError

    platform = common.renamed(ctx, platform, preset, param="platform", new="--platform", old="--preset")
    try:
        if reframe not in REFRAMES:
            raise RenderCommandError(f"--reframe must be one of {', '.join(REFRAMES)}, not {reframe!r}")
        req = RenderRequest(
            start=parse_time(start, "start"),
            end=parse_time(end, "end"),
            sku=sku,
            products=products,
            transcript=transcript,
            preset=platform,
            share_url=share_url,
            out=out,
            mode="fast" if fast else "accurate",
            captions=captions,
            reframe=reframe,
            leaders=tuple(read_leaders(leaders)) if leaders else (),
        )
        path = Path(recording)
        with common.progress_bar("render", width=10) as on_progress:
            if path.is_file():
                document = render_file(get_settings(), path, req, on_progress)
            else:
                settings = common.settings()
                common.ensure_db(settings)
                document = render_stored(settings, recording, req, on_progress)
    except RenderCommandError as exc:
        raise common.fail(str(exc), exc.exit_code) from exc
    except ClipError as exc:
        raise common.fail(str(exc), exc.exit_code) from exc
    except RenderValidationError as exc:
        raise common.fail(str(exc), 1) from exc
    except RenderFailed as exc:  # ffmpeg stopped on undecodable input (-xerror)
        reason = f"could not render {start}–{end}: the source may be corrupt in this region. {exc}"
        raise common.fail(reason, 2) from exc
    except (StudioError, ToolchainError, MissingMedia) as exc:  # bad plan, font, corrupt region, bad card input
        raise common.fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    print_summary(common.console, document)
