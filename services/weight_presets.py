"""Named weight presets a merchant saved (e.g. suggested from sales), usable by name like the built-in ones.

The detector knows only the built-in presets (:data:`studio.highlights.presets.WEIGHT_PRESETS`), so a stored
preset is handed to it as custom weights on top of :data:`BASE_PRESET`: every base weight the stored preset
does not name is set to 0, so the run uses exactly the stored weights. :func:`analysis_preset` does that for
the routes that start an analysis or a processing job; the run's parameters keep the name (``named_preset``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.errors import Conflict, InvalidValue, ServiceError
from store.models import WeightPreset
from studio.highlights.presets import WEIGHT_PRESETS

BASE_PRESET = "sales"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class WeightPresetError(ServiceError):
    """A weight preset that cannot be saved or used as asked."""


class InvalidPreset(InvalidValue, WeightPresetError):
    code = "invalid_preset"


class PresetExists(Conflict, WeightPresetError):
    code = "preset_exists"


def known_signals() -> set[str]:
    """The signals the detector has (loads the signal registry, and numpy with it)."""
    from studio.signals.base import registry

    return set(registry())


def check_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """``weights`` as floats: known signals, finite and >= 0, at least one above 0; :class:`InvalidPreset` if not."""
    if not isinstance(weights, Mapping) or not weights:
        raise InvalidPreset("weights must be an object of signal -> weight, with at least one signal")
    known = known_signals()
    checked: dict[str, float] = {}
    for name, value in weights.items():
        if name not in known:
            raise InvalidPreset(f"unknown signal {name!r} in weights (known: {', '.join(sorted(known))})")
        try:
            weight = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidPreset(f"weight of {name!r} must be a number, got {value!r}") from exc
        if not (math.isfinite(weight) and weight >= 0):
            raise InvalidPreset(f"weight of {name!r} must be a finite number >= 0, got {value!r}")
        checked[str(name)] = weight
    if not any(w > 0 for w in checked.values()):
        raise InvalidPreset("at least one weight must be above 0")
    return checked


def check_name(name: str) -> str:
    value = (name or "").strip()
    if not NAME_PATTERN.match(value):
        raise InvalidPreset(
            f"a preset name is 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; "
            f"got {name!r}"
        )
    if value in WEIGHT_PRESETS:
        raise InvalidPreset(f"{value!r} is a built-in preset: choose another name")
    return value


def save_preset(
    session: Session, *, name: str, weights: Mapping[str, Any], based_on_sales: int = 0, note: str | None = None
) -> WeightPreset:
    """Store a new named preset (flushed, not committed); :class:`PresetExists` when the name is taken."""
    checked_name, checked = check_name(name), check_weights(weights)
    if session.get(WeightPreset, checked_name) is not None:
        raise PresetExists(f"a weight preset named {checked_name!r} exists already: choose another name")
    row = WeightPreset(name=checked_name, weights=checked, based_on_sales=max(0, int(based_on_sales)), note=note)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # saved by someone else meanwhile
        raise PresetExists(f"a weight preset named {checked_name!r} exists already: choose another name") from exc
    return row


def list_presets(session: Session) -> list[WeightPreset]:
    return list(session.scalars(select(WeightPreset).order_by(WeightPreset.created_at.desc(), WeightPreset.name)))


def preset_view(row: WeightPreset) -> dict[str, Any]:
    return {
        "name": row.name,
        "weights": dict(row.weights),
        "based_on_sales": row.based_on_sales,
        "note": row.note,
        "created_at": row.created_at.isoformat(),
    }


def weights_of(session: Session, name: str) -> dict[str, float] | None:
    """The weights of a built-in or stored preset (None when there is neither)."""
    if name in WEIGHT_PRESETS:
        return dict(WEIGHT_PRESETS[name])
    row = session.get(WeightPreset, name)
    return {str(k): float(v) for k, v in row.weights.items()} if row is not None else None


def analysis_preset(
    session: Session, preset: str, weights: Mapping[str, float] | None
) -> tuple[str, dict[str, float], str | None]:
    """``(preset, weights, named_preset)`` for the detector: a built-in preset passes through; a stored one
    becomes :data:`BASE_PRESET` with the stored weights as custom weights (the base's others at 0), and the
    request's own ``weights`` on top. An unknown name passes through, for the run's check to name it."""
    custom = {str(k): float(v) for k, v in (weights or {}).items()}
    if preset in WEIGHT_PRESETS:
        return preset, custom, None
    row = session.get(WeightPreset, preset)
    if row is None:
        return preset, custom, None
    stored = {str(k): float(v) for k, v in row.weights.items()}
    merged = {name: 0.0 for name in WEIGHT_PRESETS[BASE_PRESET] if name not in stored}
    return BASE_PRESET, {**merged, **stored, **custom}, row.name
