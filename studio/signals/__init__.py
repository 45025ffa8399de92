"""Signals on one shared timebase, one small detector class per signal, and a registry.

The side-data detectors (chat, gifts, orders, products, keywords) and the media detectors (loudness,
voice, scenes) register when :func:`registry` or :func:`get_detector` is first called; media decoding
modules are imported only when used. Names are re-exported lazily (:mod:`studio.lazy`), so importing
``studio.signals.timebase`` does not load numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.lazy import lazy_exports

if TYPE_CHECKING:
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

#: Each submodule and the names it defines that are re-exported here.
_SOURCES = {
    "studio.errors": "AnalysisError",
    "studio.signals.timebase": "DEFAULT_HZ",
    "studio.signals.base": (
        "DEFAULT_PHRASES AnalysisInput Detector Signal UnknownDetectorError get_detector register registry"
    ),
    "studio.signals.sidedata": "name_parts",
}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
