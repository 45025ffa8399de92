"""Clip rendering: platform presets, one-filtergraph renders, captions, loudness, output validation.

``render_clip(make_plan(source, start=..., end=..., preset=get_preset("douyin"), ...), out)`` renders
one platform-ready clip; :func:`validate_output` checks any MP4 against a preset. Subject-aware
crops and per-leader variants live in :mod:`studio.render.subject` and :mod:`studio.render.variants`.

Names are re-exported lazily (:mod:`studio.lazy`): importing ``studio.render.presets`` does not load PyAV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.lazy import lazy_exports

if TYPE_CHECKING:
    from studio.render.captions import ass_document, caption_style, clip_cues, escape_ass_text, wrap_caption, write_ass
    from studio.render.errors import RenderError, RenderFailed, RenderFontError, RenderPlanError, RenderValidationError
    from studio.render.fastcut import CopyWindow, copy_window, stream_copy
    from studio.render.graph import build_render_args, card_geometry, qr_geometry, resolve_reframe
    from studio.render.loudness import Loudness, gain_to_target, loudness_args, measure_loudness, parse_ebur128
    from studio.render.plan import CardOverlay, QrOverlay, RenderPlan, make_plan
    from studio.render.presets import PLATFORM_PRESETS, Preset, encoder_args, get_preset
    from studio.render.render import RenderResult, keyframe_at_or_before, render_clip
    from studio.render.validate import OutputFacts, ValidationReport, inspect_output, validate_output

__all__ = [
    "PLATFORM_PRESETS",
    "CardOverlay",
    "CopyWindow",
    "Loudness",
    "OutputFacts",
    "Preset",
    "QrOverlay",
    "RenderError",
    "RenderFailed",
    "RenderFontError",
    "RenderPlan",
    "RenderPlanError",
    "RenderResult",
    "RenderValidationError",
    "ValidationReport",
    "ass_document",
    "build_render_args",
    "caption_style",
    "card_geometry",
    "clip_cues",
    "copy_window",
    "encoder_args",
    "escape_ass_text",
    "gain_to_target",
    "get_preset",
    "inspect_output",
    "keyframe_at_or_before",
    "loudness_args",
    "make_plan",
    "measure_loudness",
    "parse_ebur128",
    "qr_geometry",
    "render_clip",
    "resolve_reframe",
    "stream_copy",
    "validate_output",
    "wrap_caption",
    "write_ass",
]

#: Each submodule and the names it defines that are re-exported here.
_SOURCES = {
    "studio.render.captions": "ass_document caption_style clip_cues escape_ass_text wrap_caption write_ass",
    "studio.render.errors": "RenderError RenderFailed RenderFontError RenderPlanError RenderValidationError",
    "studio.render.fastcut": "CopyWindow copy_window stream_copy",
    "studio.render.graph": "build_render_args card_geometry qr_geometry resolve_reframe",
    "studio.render.loudness": "Loudness gain_to_target loudness_args measure_loudness parse_ebur128",
    "studio.render.plan": "CardOverlay QrOverlay RenderPlan make_plan",
    "studio.render.presets": "PLATFORM_PRESETS Preset encoder_args get_preset",
    "studio.render.render": "RenderResult keyframe_at_or_before render_clip",
    "studio.render.validate": "OutputFacts ValidationReport inspect_output validate_output",
}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
