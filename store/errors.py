"""The database layer's error root. Names stay importable from the modules that raise them."""

from __future__ import annotations


class StoreError(Exception):
    """A stored record cannot be read or changed as asked. ``code`` is the machine reason."""

    code = "store_error"


class RecordNotFound(StoreError, LookupError):
    """No such row."""

    code = "not_found"


class InvalidRecord(StoreError, ValueError):
    """The values given for a row are not acceptable."""

    code = "invalid"


class MissingMedia(StoreError):
    """The recording's row or file is gone: probing it again will not help."""

    code = "missing_media"


class ClipNotFound(RecordNotFound):
    """No such clip."""


class HighlightError(StoreError):
    """A highlight request that cannot be carried out."""


class InvalidHighlight(InvalidRecord, HighlightError):
    """Bad in/out points or SKU."""


class HighlightNotFound(RecordNotFound, HighlightError):
    """No such highlight or recording."""


class KeyRequestError(StoreError, ValueError):
    """An API key request is invalid (unknown role, unknown key)."""


class UnknownRole(InvalidRecord, KeyRequestError):
    """A key was asked for with a role that does not exist."""


class InvalidKey(InvalidRecord, KeyRequestError):
    """A key request that cannot be honoured: a leader key without its leader, a leader on another role."""


class KeyNotFound(RecordNotFound, KeyRequestError):
    """No such API key."""


class ShareLinkError(InvalidRecord):
    """A link cannot be made as asked (bad target URL, or no free code after several tries)."""


class LeaderNotFound(RecordNotFound):
    """No leader has that id."""

    code = "unknown_leader"


class InvalidLeader(InvalidRecord):
    """A leader request is invalid (no name, a bad or taken id, an unknown or inactive leader)."""

    code = "invalid_leader"
