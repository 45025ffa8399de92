"""Writing card images atomically: a temp file in the target folder, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from studio.errors import CardError

__all__ = ["save_image_atomic"]

_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "JPG": "JPEG", "WEBP": "WEBP"}


def save_image_atomic(image: Image.Image, path: Path, format: str | None = None, *, quality: int = 90) -> Path:
    """Save ``image`` to ``path`` so that the path holds either the old file or the complete new one.

    ``format`` is PNG, JPEG or WEBP (default: from the suffix, else PNG). JPEG drops transparency by
    compositing over white. Creates the parent folder; raises :class:`CardError` for an unknown format.
    """
    path = Path(path)
    name = (format or path.suffix.lstrip(".") or "PNG").upper()
    if name not in _FORMATS:
        raise CardError(f"cannot save {path.name}: image format {format or path.suffix!r} is not PNG, JPEG or WEBP")
    fmt = _FORMATS[name]
    if fmt == "JPEG" and image.mode != "RGB":
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    options: dict[str, object] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format=fmt, **options)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
