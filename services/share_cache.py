"""An in-process cache of share links, so ``/s/{code}`` answers without touching the database.

``code -> CachedLink`` (or None for an unknown code) for :data:`TTL_SECONDS`, at most :data:`MAX_ENTRIES`
(least recently used dropped first). A link disabled in another process stops redirecting within the
TTL; :meth:`LinkCache.forget` drops a code at once in this one. The redirect's ``Location`` is prepared
here from the stored target only: ``lsclid=<click id>`` is added to the target's own query, and
nothing from a request ever reaches it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sqlalchemy import select

from store import share_links
from store.db import get_sessionmaker
from store.models import Clip, ShareLink

TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000
CLICK_PARAM = "lsclid"
#: what RedirectResponse leaves unescaped in a Location (non-ASCII and spaces are percent-encoded)
LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"


@dataclass(frozen=True)
class Landing:
    """What the in-app landing page shows: the clip's product and cover (a storage key)."""

    product: str | None
    price: str | None
    cover_key: str | None


@dataclass(frozen=True)
class CachedLink:
    """A live link: its row id and its ``Location`` split around the click id."""

    id: str
    code: str
    clip_id: str
    head: str  # target (without fragment) + "?" or "&" + "lsclid="
    tail: str  # "#fragment" or ""

    def location(self, click_id: str) -> str:
        """The stored target with ``lsclid=<click_id>`` (a click id is URL-safe base64)."""
        return f"{self.head}{click_id}{self.tail}"


def split_target(target: str) -> tuple[str, str]:
    """``(head, tail)`` for :class:`CachedLink`: an existing ``lsclid`` in the target is replaced."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != CLICK_PARAM]
    kept = urlencode(query) if len(query) != len(parse_qsl(parts.query, keep_blank_values=True)) else parts.query
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, kept, ""))
    head = quote(f"{base}{'&' if kept else '?'}{CLICK_PARAM}=", safe=LOCATION_SAFE)
    tail = quote(f"#{parts.fragment}", safe=LOCATION_SAFE) if parts.fragment else ""
    return head, tail


def _price(product: dict[str, Any] | None) -> str | None:
    value = (product or {}).get("price")
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    currency = str((product or {}).get("currency") or "CNY")
    return f"¥{amount:.2f}" if currency == "CNY" else f"{amount:.2f} {currency}"


MISSING: Any = object()


class LinkCache:
    """Thread-safe TTL + LRU cache of :class:`CachedLink` by code, and of :class:`Landing` by clip."""

    def __init__(
        self,
        database_url: str,
        *,
        ttl: float = TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database_url = database_url
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._links: OrderedDict[str, tuple[float, CachedLink | None]] = OrderedDict()
        self._landings: OrderedDict[str, tuple[float, Landing]] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, code: str) -> CachedLink | None:
        """The cached answer for ``code`` (None: no such live link), or :data:`MISSING` (ask :meth:`load`)."""
        with self._lock:
            hit = self._links.get(code)
            if hit is None:
                return MISSING
            if hit[0] <= self._clock():
                del self._links[code]
                return MISSING
            self._links.move_to_end(code)
            return hit[1]

    def load(self, code: str) -> CachedLink | None:
        """Look ``code`` up in the database (one indexed query) and cache the answer."""
        link = None
        if share_links.is_code(code):
            session = get_sessionmaker(self.database_url)()
            try:
                row = share_links.resolve(session, code)
                if row is not None:
                    head, tail = split_target(row.target_url)
                    link = CachedLink(id=row.id, code=row.code, clip_id=row.clip_id, head=head, tail=tail)
            finally:
                session.close()
        if share_links.is_code(code):  # malformed codes never take a slot
            self._put(self._links, code, link)
        return link

    def forget(self, code: str) -> None:
        """Drop ``code`` now (call after disabling or retargeting it in this process)."""
        with self._lock:
            self._links.pop(code, None)

    def landing(self, link: CachedLink) -> Landing:
        """The landing page's facts for ``link``'s clip (cached like links; one query on a miss)."""
        with self._lock:
            hit = self._landings.get(link.clip_id)
            if hit is not None and hit[0] > self._clock():
                return hit[1]
        session = get_sessionmaker(self.database_url)()
        try:
            row = session.execute(
                select(Clip.product, Clip.title, Clip.cover_key)
                .join(ShareLink, ShareLink.clip_id == Clip.id)
                .where(ShareLink.id == link.id)
            ).first()
        finally:
            session.close()
        product = row[0] if row is not None and isinstance(row[0], dict) else None
        name = (product or {}).get("name") or (row[1] if row is not None else None)
        facts = Landing(
            product=str(name) if name else None,
            price=_price(product),
            cover_key=row[2] if row is not None else None,
        )
        self._put(self._landings, link.clip_id, facts)
        return facts

    def _put(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        with self._lock:
            table[key] = (self._clock() + self.ttl, value)
            table.move_to_end(key)
            while len(table) > self.max_entries:
                table.popitem(last=False)
