"""Storing buffered clicks: classify each (``distribution.tracking``), hash the visitor, decide unique
visits, and insert :class:`~store.models.Click` rows, off the redirect path.

:func:`drain_clicks` claims closed buffer files (:mod:`services.click_buffer`), stores each file's
clicks in one transaction (idempotent: the click id is the primary key, an id already stored is
skipped) and deletes the file only after the commit; a failed file is given back for the next pass.
The API runs :class:`ClickDrainer` (a thread, every second; a final drain at shutdown) and the
reconciler drains whatever a crashed process left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from distribution.tracking import UNIQUE_WINDOW, BotDetector, identity, is_unique_visit
from runtime.config import Settings
from services import click_buffer
from services.click_buffer import ClickBuffer
from store.db import session_scope
from store.models import Click, ShareLink, utcnow

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 1.0
IN_CHUNK = 500  # ids per IN (...) list
CHUNK = 200  # clicks per transaction
YIELD_SECONDS = 0.002  # pause between chunks (the GIL goes to the request loop)

_detector: BotDetector | None = None
_detector_lock = threading.Lock()


def shared_detector() -> BotDetector:
    """The process's detector (its per-agent verdict cache is shared by all drains)."""
    global _detector
    with _detector_lock:
        if _detector is None:
            _detector = BotDetector()
        return _detector


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


def _when(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def _text(value: Any) -> str | None:
    return str(value)[: click_buffer.MAX_FIELD_CHARS] if value else None


def build_rows(
    session: Session, records: list[dict[str, Any]], *, salt: str, detector: BotDetector
) -> list[dict[str, Any]]:
    """Click rows for ``records`` that are not stored yet, in time order, with bot flags and unique visits."""
    ids = sorted({str(r["id"]) for r in records})
    stored: set[str] = set()
    for chunk in _chunks(ids):
        stored.update(session.scalars(select(Click.id).where(Click.id.in_(chunk))))
    link_ids = sorted({str(r["link"]) for r in records})
    live: set[str] = set()
    for chunk in _chunks(link_ids):
        live.update(session.scalars(select(ShareLink.id).where(ShareLink.id.in_(chunk))))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: float(r.get("at") or 0)):
        click_id = str(record["id"])[:32]
        if click_id in stored or click_id in seen:
            continue
        seen.add(click_id)
        if str(record["link"]) not in live:
            log.warning("click %s: its share link %s is gone; not stored", click_id, record["link"])
            continue
        method = str(record.get("m") or "GET").upper()[:8]
        agent = _text(record.get("ua"))
        verdict = detector.classify(method, agent)
        rows.append(
            {
                "id": click_id,
                "link_id": str(record["link"]),
                "at": _when(record.get("at") or 0),
                "kind": "scan" if record.get("qr") else "click",
                "method": method,
                "identity": identity(salt, record.get("ip"), agent),
                "user_agent": agent,
                "referer": _text(record.get("ref")),
                "in_app": verdict.in_app,
                "bot": verdict.bot,
                "bot_reason": verdict.reason,
                "unique_visit": False,
            }
        )
    _mark_unique(session, rows)
    return rows


class UniqueMemo:
    """The last unique visit per (identity, link) this process has stored or read, newest 100k kept.

    A key whose last unique visit is within the window needs no query: the next visit is not unique
    whatever other processes stored since. Only the others (new visitors, mostly) are looked up, so a
    heavy hitter (a bot, a shared office IP) never makes the drainer scan its rows again and again.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._last: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def recent(self, key: tuple[str, str], at: datetime) -> datetime | None:
        with self._lock:
            last = self._last.get(key)
        return last if last is not None and not is_unique_visit(last, at) else None

    def remember(self, key: tuple[str, str], at: datetime) -> None:
        with self._lock:
            if key not in self._last or self._last[key] < at:
                self._last[key] = at
                self._last.move_to_end(key)
            while len(self._last) > self._size:
                self._last.popitem(last=False)


_memo = UniqueMemo()
CLICKS = cast(Table, Click.__table__)


def _mark_unique(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set ``unique_visit`` on human rows (time-ordered): a visit is unique when no unique visit of the same
    identity to the same link lies within :data:`UNIQUE_WINDOW` of it, before **or after** (another
    drainer may have stored a later file of the same visitor first), counting those stored and those
    marked earlier in ``rows``. So each hour of a visitor's visits to a link counts at most once
    whichever order their files are stored in; the caller holds :func:`lock_uniques`."""
    humans = [row for row in rows if not row["bot"]]
    if not humans:
        return
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in humans:
        by_key.setdefault((row["identity"], row["link_id"]), []).append(row)
    marks: dict[tuple[str, str], list[datetime]] = {key: [] for key in by_key}
    settled: set[tuple[str, str]] = set()  # every row within the window after a stored unique visit
    unknown: set[str] = set()
    for key, items in by_key.items():
        known = _memo.recent(key, items[-1]["at"])
        if known is not None and known <= items[0]["at"]:
            settled.add(key)
        else:
            unknown.add(key[0])
    earliest, newest = humans[0]["at"], humans[-1]["at"]
    for chunk in _chunks(sorted(unknown)):
        query = select(Click.identity, Click.link_id, Click.at).where(
            Click.identity.in_(chunk),
            Click.unique_visit.is_(True),
            Click.at > earliest - UNIQUE_WINDOW,
            Click.at < newest + UNIQUE_WINDOW,
        )
        for who, link_id, at in session.execute(query):
            stored = at if at.tzinfo else at.replace(tzinfo=UTC)
            _memo.remember((who, link_id), stored)  # already committed: safe to remember now
            if (who, link_id) in marks:
                marks[(who, link_id)].append(stored)
    for row in humans:
        key = (row["identity"], row["link_id"])
        if key in settled:
            continue
        if all(abs(row["at"] - mark) >= UNIQUE_WINDOW for mark in marks[key]):
            row["unique_visit"] = True
            marks[key].append(row["at"])


#: The PostgreSQL advisory lock every drainer holds while it decides and inserts one chunk's unique visits.
UNIQUE_LOCK = 0x6C73_636C_6B73  # "lsclks"


def lock_uniques(session: Session) -> None:
    """Serialise unique-visit marking across drainers (PostgreSQL: a transaction advisory lock, released
    at commit). Without it two drainers could each read "no unique visit yet" and both mark one. SQLite
    runs one writer at a time and the API drains in one thread."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(UNIQUE_LOCK)))


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert, skipping ids another drainer stored meanwhile (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    connection = session.connection()  # Core on the table: one executemany, no ORM bookkeeping per row
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(CLICKS).on_conflict_do_nothing(index_elements=["id"])
    recorded = utcnow()
    connection.execute(statement, [{**row, "recorded_at": recorded} for row in rows])


def drain_file(settings: Settings, path: Path, *, detector: BotDetector | None = None) -> int:
    """Store one claimed file's clicks and delete it after the last commit; the number of rows inserted.

    Clicks go in time order, :data:`CHUNK` per transaction, with a pause between chunks that lets the
    API's event loop take the GIL (a big file never stalls the redirects for long). A file that fails
    half-way is given back whole: the ids already stored are skipped next time. On a database error
    the error is raised after the file is given back.
    """
    records = sorted(click_buffer.read_lines(path), key=lambda r: float(r.get("at") or 0))
    salt = settings.resolved_secret_key()
    inserted = 0
    try:
        for start in range(0, len(records), CHUNK):
            if start:
                time.sleep(YIELD_SECONDS)
            with session_scope(settings.database_url) as session:
                chunk = records[start : start + CHUNK]
                lock_uniques(session)
                rows = build_rows(session, chunk, salt=salt, detector=detector or shared_detector())
                _insert(session, rows)
            for row in rows:  # committed: later drains may rely on these
                if row["unique_visit"]:
                    _memo.remember((row["identity"], row["link_id"]), row["at"])
            inserted += len(rows)
    except SQLAlchemyError:
        click_buffer.release(path)
        raise
    path.unlink(missing_ok=True)
    return inserted


def drain_clicks(
    settings: Settings, *, detector: BotDetector | None = None, everything: bool = False, min_age: float = 0.0
) -> int:
    """Claim every drainable buffer file under the media root and store its clicks; rows inserted.

    ``everything``: also take fresh claims and unlocked part files at once (only when no other
    process that writes or drains clicks is running). ``min_age``: take only files at least this many
    seconds old (a closed file, a part file whose writer died, a claim; a dead drainer's claim still
    after :data:`~services.click_buffer.STALE_CLAIM_SECONDS`): the reconciler, a backstop, leaves what
    the live drainer is about to take to it. Raises the first database error after giving back the
    files not stored (nothing is lost).
    """
    if everything:
        ages = {"abandoned_after": 0.0, "stale_claim": 0.0}
    else:
        ages = {
            "abandoned_after": max(click_buffer.ABANDONED_AFTER_SECONDS, min_age),
            "stale_claim": max(click_buffer.STALE_CLAIM_SECONDS, min_age),
            "ready_after": min_age,
        }
    claimed = click_buffer.claim_files(click_buffer.clicks_dir(settings.run_dir), **ages)
    total = 0
    for index, path in enumerate(claimed):
        try:
            total += drain_file(settings, path, detector=detector)
        except SQLAlchemyError:
            for rest in claimed[index + 1 :]:
                click_buffer.release(rest)
            raise
    return total


def drain_once(settings: Settings) -> int:
    """One pass of a separate drainer process: store what is due; database and disk errors are logged and
    the files stay for the next pass. Clicks stored."""
    try:
        return drain_clicks(settings)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("click drain failed, will retry: %s: %s", type(exc).__name__, exc)
        return 0


class ClickDrainer:
    """The API process's background thread: rotates the buffer every ``interval`` seconds and, with
    ``drain`` (``LIVESLICE_CLICK_DRAIN=api``), stores what is due; without it another process
    (``liveslice clicks drain --follow``) stores them, and this thread only closes files on time."""

    def __init__(
        self, settings: Settings, buffer: ClickBuffer, *, interval: float = DRAIN_INTERVAL, drain: bool = True
    ) -> None:
        self.settings = settings
        self.buffer = buffer
        self.interval = interval
        self.drain = drain
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="click-drainer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self.drain:
            shared_detector()  # load the pattern lists once, off the request path
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> int:
        """One pass: rotate a due file, drain; database and disk errors are logged (files stay)."""
        try:
            self.buffer.rotate()
            return drain_clicks(self.settings) if self.drain else 0
        except (SQLAlchemyError, OSError) as exc:
            log.warning("click drain failed, will retry: %s: %s", type(exc).__name__, exc)
            return 0

    def stop(self) -> None:
        """Stop the thread, close this process's file and (with ``drain``) drain once more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.buffer.close()
        self.tick()
