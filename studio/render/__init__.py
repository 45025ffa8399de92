"""Clip rendering: platform presets, one-filtergraph renders, captions, loudness, output validation.

``render_clip(make_plan(source, start=..., end=..., preset=get_preset("douyin"), ...), out)`` renders
one platform-ready clip; :func:`validate_output` checks any MP4 against a preset. Subject-aware
crops and per-leader variants live in :mod:`studio.render.subject` and :mod:`studio.render.variants`.
"""

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
