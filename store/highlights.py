"""Highlights and analyses of a recording. Each function runs inside the caller's transaction.

An analysis replaces the recording's automatic (non-locked) highlights; locked ones, and every
manual one unless it is unlocked, survive re-analysis untouched. Manual in/out points always win.
A deleted automatic highlight stays as a ``dismissed`` tombstone (hidden everywhere) whose window
later analyses avoid, so a merchant's delete sticks as a lock does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.errors import HighlightError as HighlightError  # re-exported
from store.errors import HighlightNotFound, InvalidHighlight
from store.models import Analysis, HighlightRow, Product, Recording, utcnow
from studio.highlights.record import Highlight

if TYPE_CHECKING:
    from studio.highlights import HighlightResult

SERIES_POINTS = 600


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def latest_analysis(session: Session, *, recording_id: str) -> Analysis | None:
    """The recording's newest analysis, or ``None`` if it was never analysed."""
    stmt = (
        select(Analysis)
        .where(Analysis.recording_id == recording_id)
        .order_by(Analysis.created_at.desc(), Analysis.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def list_highlights(session: Session, *, recording_id: str) -> list[HighlightRow]:
    """The recording's highlights (automatic and manual), by start time."""
    stmt = (
        select(HighlightRow)
        .where(HighlightRow.recording_id == recording_id, HighlightRow.dismissed.is_(False))
        .order_by(HighlightRow.start, HighlightRow.end, HighlightRow.id)
    )
    return list(session.scalars(stmt))


def dismissed_windows(session: Session, *, recording_id: str) -> list[tuple[float, float]]:
    """The windows of the automatic highlights a merchant deleted, for ``detect_highlights(avoid=...)``."""
    stmt = select(HighlightRow.start, HighlightRow.end).where(
        HighlightRow.recording_id == recording_id, HighlightRow.dismissed.is_(True)
    )
    return [(start, end) for start, end in session.execute(stmt)]


def get_highlight(session: Session, *, highlight_id: str) -> HighlightRow:
    row = session.get(HighlightRow, highlight_id)
    if row is None or row.dismissed:
        raise HighlightNotFound(f"no highlight {highlight_id!r}")
    return row


def to_highlight(row: HighlightRow) -> Highlight:
    """The studio :class:`Highlight` a row stands for."""
    return Highlight(
        start=row.start,
        end=row.end,
        score=row.score,
        rank=row.rank,
        sku=row.sku,
        peak=row.peak,
        contributions=dict(row.contributions or {}),
        reason=row.reason,
        snapped=(row.snapped_start, row.snapped_end),
        locked=row.locked,
        source=row.source,
    )


def highlight_payload(row: HighlightRow) -> dict[str, Any]:
    """``Highlight.to_dict()`` plus the row's ``id`` (the API's and ``liveslice analyze --json``'s shape)."""
    return {"id": row.id, **to_highlight(row).to_dict()}


def locked_highlights(session: Session, *, recording_id: str) -> list[Highlight]:
    """The recording's locked highlights, to pass to ``detect_highlights(locked=...)``."""
    return [to_highlight(row) for row in list_highlights(session, recording_id=recording_id) if row.locked]


def save_analysis(
    session: Session,
    *,
    recording_id: str,
    job_id: str | None,
    params: dict[str, Any],
    result: HighlightResult,
    duration: float | None = None,
) -> Analysis:
    """Store an analysis and make its automatic highlights the recording's current ones.

    The recording's non-locked highlights are deleted; locked rows and dismissed tombstones are kept
    untouched (the result's locked highlights are those rows, passed in as ``locked``), and no automatic
    highlight overlapping a dismissed one is stored. ``duration`` defaults to the recording's.
    """
    recording = _recording(session, recording_id)
    summary = {key: value for key, value in result.to_dict().items() if key != "highlights"}
    analysis = Analysis(
        recording_id=recording_id,
        job_id=job_id,
        params=dict(params),
        result=summary,
        series=result.series(SERIES_POINTS),
        duration=float(duration if duration is not None else recording.duration or 0.0),
    )
    session.add(analysis)
    session.flush()
    session.execute(
        delete(HighlightRow)
        .where(
            HighlightRow.recording_id == recording_id,
            HighlightRow.locked.is_(False),
            HighlightRow.dismissed.is_(False),
        )
        .execution_options(synchronize_session="fetch")
    )
    dismissed = dismissed_windows(session, recording_id=recording_id)
    for h in result.highlights:
        if h.locked or any(a < h.end and h.start < b for a, b in dismissed):
            continue
        session.add(
            HighlightRow(
                recording_id=recording_id,
                analysis_id=analysis.id,
                start=h.start,
                end=h.end,
                score=h.score,
                rank=h.rank,
                sku=h.sku,
                peak=h.peak,
                contributions=dict(h.contributions),
                reason=h.reason,
                snapped_start=h.snapped[0],
                snapped_end=h.snapped[1],
                locked=False,
                source=h.source,
            )
        )
    session.flush()
    return analysis


def add_manual_highlight(
    session: Session,
    *,
    recording_id: str,
    start: float,
    end: float,
    sku: str | None = None,
    reason: str = "",
) -> HighlightRow:
    """Add a merchant's highlight (manual, locked). Automatic highlights it overlaps are removed."""
    recording = _recording(session, recording_id)
    start, end = _check_span(recording, start, end)
    _check_sku(session, sku)
    row = HighlightRow(
        recording_id=recording_id,
        start=start,
        end=end,
        sku=sku,
        reason=reason or "set by hand",
        locked=True,
        source="manual",
    )
    session.add(row)
    session.flush()
    _drop_overlapped(session, row)
    return row


def update_highlight(
    session: Session,
    *,
    highlight_id: str,
    start: float | None = None,
    end: float | None = None,
    sku: str | _Unset | None = UNSET,
    locked: bool | None = None,
) -> HighlightRow:
    """Edit a highlight. New in/out points make it manual and locked (automatic ones it then overlaps
    are removed) unless ``locked=False`` is given too; ``sku=None`` clears the SKU.
    """
    row = get_highlight(session, highlight_id=highlight_id)
    moved = (start is not None and start != row.start) or (end is not None and end != row.end)
    if start is not None or end is not None:
        recording = _recording(session, row.recording_id)
        new_start, new_end = _check_span(
            recording, row.start if start is None else start, row.end if end is None else end
        )
        if moved:
            row.start, row.end = new_start, new_end
            row.source, row.locked = "manual", True
            row.snapped_start = row.snapped_end = False
    if not isinstance(sku, _Unset):
        _check_sku(session, sku)
        row.sku = sku
    if locked is not None:
        row.locked = locked
    row.updated_at = utcnow()
    session.flush()
    if moved and row.locked:
        _drop_overlapped(session, row)
    return row


def delete_highlight(session: Session, *, highlight_id: str) -> None:
    """Delete a highlight; an automatic one stays as a dismissed tombstone that re-analysis avoids."""
    row = get_highlight(session, highlight_id=highlight_id)
    if row.source == "auto":
        row.dismissed, row.locked, row.updated_at = True, False, utcnow()
    else:
        session.delete(row)
    session.flush()


def _recording(session: Session, recording_id: str) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise HighlightNotFound(f"no recording {recording_id!r}")
    return recording


def _check_span(recording: Recording, start: float, end: float) -> tuple[float, float]:
    start, end = float(start), float(end)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidHighlight(f"start and end must be finite numbers of seconds, got {start!r} and {end!r}")
    if recording.duration is None:
        raise InvalidHighlight("the recording's duration is not known yet (it has not been probed)")
    if not 0 <= start < end <= recording.duration:
        raise InvalidHighlight(
            f"need 0 <= start < end <= {recording.duration:g} s (the recording's duration), got {start:g}..{end:g}"
        )
    return round(start, 3), round(end, 3)


def _check_sku(session: Session, sku: str | None) -> None:
    if sku is not None and session.get(Product, sku) is None:
        raise InvalidHighlight(f"unknown SKU {sku!r}: it is not in the product catalog")


def _drop_overlapped(session: Session, row: HighlightRow) -> None:
    """Manual wins: remove automatic, unlocked highlights that overlap ``row``."""
    session.execute(
        delete(HighlightRow)
        .where(
            HighlightRow.recording_id == row.recording_id,
            HighlightRow.id != row.id,
            HighlightRow.locked.is_(False),
            HighlightRow.dismissed.is_(False),
            HighlightRow.start < row.end,
            HighlightRow.end > row.start,
        )
        .execution_options(synchronize_session="fetch")
    )
