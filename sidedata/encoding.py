"""Detect and decode the text encoding of side-data files.

Supported: UTF-8 (with or without BOM), UTF-16 with BOM, and GB18030 (a superset
of GBK, used by Chinese spreadsheet exports). The user is never asked.
"""

from __future__ import annotations

import codecs
import unicodedata

from sidedata.errors import EncodingError

TRIED_ENCODINGS = "UTF-8, UTF-8 BOM, UTF-16 with BOM, GB18030"
_ALLOWED_CONTROLS = frozenset("\t\r\n")
# Share of private-use / unassigned characters (among non-ASCII) above which a
# GB18030 decode is treated as garbage.
_MAX_ODD_SHARE = 0.1


def _fail(filename: str, detail: str) -> EncodingError:
    return EncodingError(
        f"{filename}: cannot decode file ({detail}); tried {TRIED_ENCODINGS}. Save it as UTF-8 (or GB18030/GBK) text."
    )


def _looks_like_garbage(text: str) -> bool:
    """True if a GB18030 decode contains characters real text would not."""
    odd = 0
    non_ascii = 0
    for ch in text:
        if ch < "\x80":
            if (ch < " " and ch not in _ALLOWED_CONTROLS) or ch == "\x7f":
                return True
            continue
        non_ascii += 1
        if ch == "\ufffd":
            return True
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            return True
        if category in ("Co", "Cn"):
            odd += 1
    return non_ascii > 0 and odd / non_ascii > _MAX_ODD_SHARE


def decode_text(data: bytes, filename: str) -> str:
    """Decode ``data`` to text, detecting its encoding.

    Order: UTF-8 BOM, UTF-16 BOM, strict UTF-8, strict GB18030 (rejected if the
    result contains control characters other than tab/CR/LF, U+FFFD, or mostly
    private-use/unassigned characters). Raises :class:`EncodingError` otherwise.
    A leading BOM is removed from the result.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(filename, f"has a UTF-8 BOM but invalid UTF-8 at byte {exc.start}") from exc
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _fail(filename, f"has a UTF-16 BOM but invalid UTF-16 at byte {exc.start}") from exc
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise _fail(filename, "unknown encoding") from exc
            if _looks_like_garbage(text):
                raise _fail(filename, "unknown encoding") from None
    if "\x00" in text:
        raise _fail(filename, "contains NUL characters; binary file or UTF-16 without BOM?")
    return text.removeprefix("\ufeff")
