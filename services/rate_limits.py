"""Per-account send rates for publishing, with the ``limits`` package (moving windows).

The rate belongs to the channel's account (one robot, one bot in a chat: ``ChannelTarget.account``), not
to a target, so two targets on one robot share it. A channel's rates are its adapter's documented ones,
or ``LIVESLICE_CHANNEL_RATES`` for that type. Counts live in ``LIVESLICE_RATE_LIMIT_STORAGE``, else the
broker's Redis/Valkey (shared by every worker), else in this process (``memory://``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import limits
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from runtime.broker import EMBEDDED, BrokerError, resolve_broker_url
from runtime.config import Settings
from services.targets import effective_rates

log = logging.getLogger(__name__)

MEMORY = "memory://"
#: Seconds of the minute a channel refuses bursts on (Feishu: error 11232 at :00 and :30).
AVOID_SECONDS: dict[str, tuple[int, ...]] = {"feishu": (0, 30)}
JITTER = 0.5  # seconds added at most to a deferral, so deferred posts do not all wake at once

_limiters: dict[str, MovingWindowRateLimiter] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    """Whether a request may go now; if not, the earliest time (epoch seconds) to try again."""

    allowed: bool
    retry_at: float = 0.0


def storage_url(settings: Settings) -> str:
    """Where counts are kept (see the module docstring)."""
    if settings.rate_limit_storage.strip():
        return settings.rate_limit_storage.strip()
    broker = settings.broker_url.strip()
    if broker.startswith(("redis://", "rediss://", "valkey://", "valkeys://")):
        return broker
    if broker == EMBEDDED:
        try:
            url = resolve_broker_url(settings)
        except BrokerError as exc:
            log.info("rate limits counted in process: %s", exc)
            return MEMORY
        if url.startswith(("redis://", "rediss://", "valkey://")):
            return url
    return MEMORY


def limiter(settings: Settings) -> MovingWindowRateLimiter:
    url = storage_url(settings)
    with _lock:
        found = _limiters.get(url)
        if found is None:
            storage = storage_from_string(url)
            if not isinstance(storage, Storage):
                raise ValueError(f"LIVESLICE_RATE_LIMIT_STORAGE must be a synchronous limits storage, got {url!r}")
            found = _limiters[url] = MovingWindowRateLimiter(storage)
        return found


def rate_items(settings: Settings, channel: str) -> list[limits.RateLimitItem]:
    return [limits.parse(rate) for rate in effective_rates(settings, channel)]


def acquire(settings: Settings, channel: str, account: str, *, now: float | None = None) -> Decision:
    """Count one request for ``account`` against every rate of ``channel``; if one is full, count
    nothing and say when to try again (that window's reset, plus a little jitter)."""
    items = rate_items(settings, channel)
    if not items:
        return Decision(True)
    rl = limiter(settings)
    key = f"liveslice-publish:{channel}"
    full = [item for item in items if not rl.test(item, key, account)]
    if not full and all(rl.hit(item, key, account) for item in items):
        return Decision(True)
    full = full or [item for item in items if not rl.test(item, key, account)]
    current = now if now is not None else time.time()
    reset = max((rl.get_window_stats(item, key, account).reset_time for item in full), default=current + 1.0)
    return Decision(False, avoid_seconds(channel, max(reset, current) + random.uniform(0.05, JITTER)))


def avoid_seconds(channel: str, when: float) -> float:
    """``when`` moved off the seconds of the minute the channel dislikes (Feishu's :00 and :30)."""
    avoid = AVOID_SECONDS.get(channel, ())
    while int(when) % 60 in avoid:
        when = float(int(when) + 1) + random.uniform(0.1, 0.6)
    return when
