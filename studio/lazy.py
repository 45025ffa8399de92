"""Lazy re-exports for package ``__init__`` modules (PEP 562), so importing a package stays cheap.

A package lists which submodule defines each name it re-exports; the submodule (and whatever heavy
library it needs: PyAV, numpy, Pillow) is imported on first attribute access only::

    __getattr__, __dir__ = lazy_exports(__name__, {"studio.render.render": "RenderResult render_clip"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, sources: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``sources``: defining module -> its names, space-separated."""
    exports = {name: module for module, names in sources.items() for name in names.split()}

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
