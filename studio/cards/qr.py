"""QR share codes as crisp Pillow images: EC level M or Q, a real quiet zone, enough contrast."""

from __future__ import annotations

import numpy as np
import segno
from PIL import Image

from studio.cards.theme import contrast_ratio, parse_colour, relative_luminance
from studio.errors import CardError

__all__ = ["ALLOWED_ERROR_LEVELS", "MIN_CONTRAST", "MIN_QUIET_ZONE", "qr_image", "qr_modules"]

ALLOWED_ERROR_LEVELS = ("m", "q")
MIN_QUIET_ZONE = 4
MIN_CONTRAST = 4.5


def qr_modules(url: str, *, error: str = "q") -> int:
    """Width of the QR symbol for ``url`` in modules, without the quiet zone."""
    return int(_make(url, error).symbol_size(scale=1, border=0)[0])


def qr_image(
    url: str,
    *,
    size: int,
    error: str = "q",
    border: int = MIN_QUIET_ZONE,
    dark: str = "#000000",
    light: str = "#ffffff",
) -> Image.Image:
    """An RGB ``size`` x ``size`` QR code for ``url``, quiet zone included.

    Every module is the same whole number of pixels (the largest that fits); the leftover pixels
    widen the quiet zone evenly. Raises :class:`CardError` for an error level other than M/Q, a
    quiet zone under 4 modules, colours that are translucent, inverted (dark lighter than light) or
    under 4.5:1 contrast, a URL too long for a QR code, or a ``size`` too small for one pixel per module.
    """
    if border < MIN_QUIET_ZONE:
        raise CardError(f"QR quiet zone of {border} modules is too narrow; scanners need at least {MIN_QUIET_ZONE}")
    dark_rgb, light_rgb = _check_colours(dark, light)
    code = _make(url, error)
    matrix = np.array([list(row) for row in code.matrix_iter(scale=1, border=border)], dtype=bool)
    modules = matrix.shape[0]
    scale = size // modules
    if scale < 1:
        raise CardError(
            f"QR image of {size} px is too small: the code needs {modules} modules (quiet zone included), "
            f"so at least {modules} px"
        )
    pixels = np.where(matrix[..., None], np.array(dark_rgb, np.uint8), np.array(light_rgb, np.uint8))
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    canvas = Image.new("RGB", (size, size), light_rgb)
    offset = (size - modules * scale) // 2
    canvas.paste(Image.fromarray(pixels), (offset, offset))
    return canvas


def _make(url: str, error: str) -> segno.QRCode:
    if not isinstance(url, str) or not url.strip():
        raise CardError("QR code needs a non-empty URL")
    level = str(error).lower()
    if level not in ALLOWED_ERROR_LEVELS:
        raise CardError(f"QR error-correction level {error!r} is not allowed; use 'm' or 'q'")
    try:
        # boost_error=False: segno would otherwise raise M/Q to H when the version has room.
        return segno.make_qr(url, error=level, boost_error=False)
    except segno.DataOverflowError as exc:
        raise CardError(f"URL of {len(url)} characters is too long for a QR code at level {level.upper()}") from exc


def _check_colours(dark: str, light: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    dark_rgba = parse_colour(dark, name="QR dark colour")
    light_rgba = parse_colour(light, name="QR light colour")
    for name, rgba in (("dark", dark_rgba), ("light", light_rgba)):
        if rgba[3] != 255:
            raise CardError(f"QR {name} colour must be opaque, got alpha {rgba[3]}")
    if relative_luminance(dark_rgba) >= relative_luminance(light_rgba):
        raise CardError(f"QR dark colour {dark} must be darker than the light colour {light} (inverted codes fail)")
    ratio = contrast_ratio(dark_rgba, light_rgba)
    if ratio < MIN_CONTRAST:
        raise CardError(f"QR colours {dark} on {light} have contrast {ratio:.2f}:1; at least {MIN_CONTRAST}:1 needed")
    return dark_rgba[:3], light_rgba[:3]
