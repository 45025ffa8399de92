"""A report's date range: inclusive calendar dates in an IANA time zone, as the UTC instants SQL compares.

``2024-05-01..2024-05-01`` in Asia/Shanghai is ``2024-04-30T16:00Z`` up to (not including)
``2024-05-01T16:00Z``; each day's bounds are computed in the zone, so a daylight-saving day is 23 or 25
hours long and its sales still land on the right date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.errors import InvalidValue, ServiceError

DEFAULT_DAYS = 30  # the range when none is given: the last 30 days, today included
MAX_DAYS = 3660  # a report's longest range (about ten years)
MAX_SERIES_DAYS = 400  # a time series' longest range (one point a day)


class ReportError(ServiceError):
    """A report that cannot be made as asked."""


class InvalidReport(InvalidValue, ReportError):
    """A bad range, time zone or grouping."""

    code = "invalid_report"


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Asia/Shanghai``, ``UTC``...); :class:`InvalidReport` if unknown."""
    try:
        return ZoneInfo((name or "").strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidReport(f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai or UTC") from exc


def _date(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidReport(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Period:
    """Inclusive dates ``start``..``end`` in the zone ``tz``."""

    start: date
    end: date
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def instant(self, day: date) -> datetime:
        """The UTC instant ``day`` begins in the zone."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def start_utc(self) -> datetime:
        return self.instant(self.start)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the range (the next day's midnight in the zone)."""
        return self.instant(self.end + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def bounds(self) -> list[datetime]:
        """Each day's first instant in UTC, then the end: ``len(days) + 1`` instants."""
        return [self.instant(day) for day in self.days] + [self.end_utc]

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "tz": self.tz}


def period(start: str | None, end: str | None, tz: str | None, *, default_tz: str, today: date | None = None) -> Period:
    """The range a request asks for: ``start``/``end`` inclusive ``YYYY-MM-DD`` dates in ``tz`` (default
    ``default_tz``). A missing end is today in the zone; a missing start is 29 days before the end."""
    name = (tz or "").strip() or default_tz
    here = zone(name)
    last = _date(end, "to") or today or datetime.now(here).date()
    first = _date(start, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidReport(f"from ({first}) is after to ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidReport(f"the range is {(last - first).days + 1} days; at most {MAX_DAYS}")
    return Period(first, last, name)


def check_series(span: Period) -> None:
    """A time series has one point a day: refuse ranges longer than :data:`MAX_SERIES_DAYS`."""
    days = (span.end - span.start).days + 1
    if days > MAX_SERIES_DAYS:
        raise InvalidReport(f"a time series covers at most {MAX_SERIES_DAYS} days; this range has {days}")


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """``rows`` as CSV with a header; a cell that starts like a formula is quoted with ``'`` (spreadsheets
    would run it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
