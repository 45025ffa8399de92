"""Signals on one shared timebase, one small detector class per signal, and a registry.

Importing this package registers the side-data detectors (chat, gifts, orders, products, keywords) and
the media detectors (loudness, voice, scenes); media decoding modules are imported only when used.
"""

from __future__ import annotations

from studio.signals import media as _media  # noqa: F401  (registers loudness, voice, scenes)
from studio.signals import sidedata as _sidedata  # noqa: F401  (registers chat, gifts, orders, products, keywords)
from studio.signals.base import (
    DEFAULT_HZ,
    DEFAULT_PHRASES,
    AnalysisError,
    AnalysisInput,
    Detector,
    Signal,
    UnknownDetectorError,
    get_detector,
    register,
    registry,
)
from studio.signals.sidedata import name_parts

__all__ = [
    "DEFAULT_HZ",
    "DEFAULT_PHRASES",
    "AnalysisError",
    "AnalysisInput",
    "Detector",
    "Signal",
    "UnknownDetectorError",
    "get_detector",
    "name_parts",
    "register",
    "registry",
]
