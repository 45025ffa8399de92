"""Session-scoped test media made on first use: one memoising factory shared by the media fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Make = Callable[[str], Path]
Build = Callable[[str, Path, Make], Path]


def lazy_media(build: Build, root: Path) -> Make:
    """``make(kind)``: ``build(kind, root, make)`` on the first call for ``kind``, the same path afterwards."""
    made: dict[str, Path] = {}

    def make(kind: str) -> Path:
        if kind not in made:
            made[kind] = build(kind, root, make)
        return made[kind]

    return make
