"""Highlight detection: the :func:`detect_highlights` facade (PySceneDetect's ``detect()`` is the model).

Signals come from the detectors in :mod:`studio.signals`; a weight preset scores them; windows are
picked, snapped to speech pauses, tagged with a SKU and explained. Locked (manual) highlights win.
Names are re-exported lazily (:mod:`studio.lazy`): the :class:`Highlight` record, the presets and a
run's parameters (:mod:`studio.highlights.run`) load without numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.lazy import lazy_exports

if TYPE_CHECKING:
    from studio.errors import AnalysisError
    from studio.highlights.detect import HighlightResult, detect_highlights
    from studio.highlights.presets import TAGGING_SIGNALS, WEIGHT_PRESETS
    from studio.highlights.record import Highlight, clock
    from studio.highlights.select import normalise
    from studio.signals.base import DEFAULT_PHRASES, AnalysisInput, Signal

__all__ = [
    "DEFAULT_PHRASES",
    "TAGGING_SIGNALS",
    "WEIGHT_PRESETS",
    "AnalysisError",
    "AnalysisInput",
    "Highlight",
    "HighlightResult",
    "Signal",
    "clock",
    "detect_highlights",
    "normalise",
]

#: Each submodule and the names it defines that are re-exported here.
_SOURCES = {
    "studio.errors": "AnalysisError",
    "studio.highlights.detect": "HighlightResult detect_highlights",
    "studio.highlights.presets": "TAGGING_SIGNALS WEIGHT_PRESETS",
    "studio.highlights.record": "Highlight clock",
    "studio.highlights.select": "normalise",
    "studio.signals.base": "DEFAULT_PHRASES AnalysisInput Signal",
}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
