"""Rules for changing recordings that reach beyond the recording itself."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.errors import Conflict, ServiceError
from store import sales as sales_store


class RecordingError(ServiceError):
    """The recordings domain's root."""

    code = "recording_error"


class RecordingInUse(Conflict, RecordingError):
    """The recording carries sales history that deleting it would erase."""

    code = "recording_in_use"


def ensure_deletable(session: Session, recording_id: str) -> None:
    """Raise :class:`RecordingInUse` when the share links of the recording's clips have clicks or
    attributed sales: deleting it would cascade to its clips, their links and every click logged on
    them (reports and the click a late sale carries would be lost), and leave sales without a clip."""
    clicks, sales = sales_store.recording_traffic(session, recording_id)
    if clicks or sales:
        raise RecordingInUse(
            f"recording {recording_id!r} cannot be deleted: its clips' share links have {clicks} logged "
            f"click(s) and {sales} attributed sale(s), and deleting it would erase that traffic and sales "
            "history from the reports"
        )
