"""A pipeline's options, checked up front, and the clip rows its highlights become.

Clip rows are unique per (recording, window, preset, mode), so starting the same pipeline twice,
or retrying it, reuses them: it never duplicates a clip.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from pipeline.analysis import analysis_params
from runtime.config import Settings
from services.clip_requests import MODES, preset_named
from services.clips import InvalidClipRequest, make_leaders, prepare_clip
from store.highlights import list_highlights
from store.models import Clip
from studio.render.plan import REFRAMES

log = logging.getLogger(__name__)

DEFAULT_PRESETS = ("douyin",)
MAX_PRESETS = 9


def pipeline_options(
    *,
    clips: int = 10,
    presets: Sequence[str] = DEFAULT_PRESETS,
    weight_preset: str = "sales",
    weights: Mapping[str, float] | None = None,
    min_len: float = 15.0,
    max_len: float = 60.0,
    scenes: bool = False,
    leaders: Sequence[Mapping[str, Any]] = (),
    mode: str = "accurate",
    captions: bool = True,
    reframe: str = "auto",
    theme: Mapping[str, Any] | None = None,
    sku: str | None = None,
    duration: float | None = None,
) -> dict[str, Any]:
    """JSON-safe, validated options of a processing job. Raises :class:`InvalidClipRequest` or
    ``AnalysisError`` naming the problem (unknown preset, bad lengths, a leader without a name…)."""
    names = [p.strip() for p in presets if p.strip()]
    if not names:
        raise InvalidClipRequest("give at least one platform preset")
    if len(set(names)) != len(names) or len(names) > MAX_PRESETS:
        raise InvalidClipRequest(f"presets must be distinct, at most {MAX_PRESETS}: {names}")
    for name in names:
        preset_named(name)
    if mode not in MODES:
        raise InvalidClipRequest(f"unknown cut mode {mode!r}; choose one of {', '.join(MODES)}")
    if reframe not in REFRAMES:
        raise InvalidClipRequest(f"unknown reframe {reframe!r}; choose one of {', '.join(REFRAMES)}")
    people = make_leaders(list(leaders))
    if mode == "fast" and people:
        raise InvalidClipRequest("fast mode makes raw excerpts without overlays: leader variants need accurate mode")
    analysis = analysis_params(
        clips=clips,
        preset=weight_preset,
        weights=weights,
        min_len=min_len,
        max_len=max_len,
        scenes=scenes,
        duration=duration,
    )
    options: dict[str, Any] = {
        "analysis": analysis,
        "render": {
            "presets": names,
            "mode": mode,
            "captions": bool(captions),
            "reframe": reframe,
            "leaders": [{"id": p.id, "name": p.name, "share_url": p.share_url} for p in people],
            "theme": dict(theme or {}),
        },
    }
    if sku is not None:
        options["sku"] = sku
    return options


def make_pipeline_clips(
    settings: Settings, session: Session, *, recording_id: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Clip rows for the recording's highlights (best first) in every preset; in the caller's transaction."""
    rows = sorted(list_highlights(session, recording_id=recording_id), key=lambda h: (h.rank or 10**6, h.start))
    windows = [Window(recording_id, h.start, h.end, h.sku, highlight_id=h.id) for h in rows]
    return make_clips(settings, session, windows, options)


class Window:
    """A moment to clip: a recording's span, its product, and (optionally) the highlight it came from."""

    def __init__(
        self,
        recording_id: str,
        start: float,
        end: float,
        sku: str | None,
        *,
        highlight_id: str | None = None,
        peak: float | None = None,
        score: float | None = None,
        reason: str | None = None,
        contributions: Mapping[str, float] | None = None,
    ) -> None:
        self.recording_id, self.start, self.end, self.sku = recording_id, start, end, sku
        self.highlight_id, self.peak, self.score, self.reason = highlight_id, peak, score, reason
        self.contributions = dict(contributions or {})


def make_clips(
    settings: Settings, session: Session, windows: Sequence[Window], options: Mapping[str, Any]
) -> dict[str, Any]:
    """One clip row per window and preset (queued), with the job's leaders where the product allows.

    Returns the stage result the plan reads: ``clip_ids`` (in order), ``with_leaders`` and ``warnings``.
    """
    render = dict(options.get("render") or {})
    leaders = list(render.get("leaders") or [])
    clip_ids: list[str] = []
    with_leaders: list[str] = []
    warnings: list[str] = []
    for window in windows:
        for preset in render.get("presets") or DEFAULT_PRESETS:
            clip = _prepare(settings, session, window, preset, render, leaders, warnings)
            if clip is None or clip.id in clip_ids:
                continue
            clip_ids.append(clip.id)
            if (clip.options or {}).get("leaders"):
                with_leaders.append(clip.id)
    return {"clip_ids": clip_ids, "with_leaders": with_leaders, "warnings": warnings}


def _prepare(
    settings: Settings,
    session: Session,
    window: Window,
    preset: str,
    render: Mapping[str, Any],
    leaders: list[dict[str, Any]],
    warnings: list[str],
) -> Clip | None:
    def attempt(people: list[dict[str, Any]]) -> Clip:
        with session.begin_nested():
            clip = prepare_clip(
                settings,
                session,
                recording_id=window.recording_id,
                start=window.start,
                end=window.end,
                highlight_id=window.highlight_id,
                sku=window.sku,
                preset=preset,
                mode=str(render.get("mode")),
                captions=bool(render.get("captions", True)),
                reframe=str(render.get("reframe") or "auto"),
                theme=render.get("theme") or None,
                leaders=people,
            )
            if window.highlight_id is None:
                clip.peak, clip.score, clip.reason = window.peak, window.score, window.reason
                clip.options = {**(clip.options or {}), "contributions": window.contributions}
            return clip

    span = f"{window.start:.1f}-{window.end:.1f} s ({preset})"
    try:
        return attempt(leaders)
    except InvalidClipRequest as exc:
        if not leaders:
            warnings.append(f"no clip for {span}: {exc}")
            return None
        try:
            clip = attempt([])
        except InvalidClipRequest as again:
            warnings.append(f"no clip for {span}: {again}")
            return None
        warnings.append(f"clip {clip.id} ({span}) has no leader variants: {exc}")
        return clip
