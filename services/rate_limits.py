"""Per-account send rates for publishing, with the ``limits`` package (moving windows).

The rate belongs to the channel's account (one robot, one bot in a chat: ``ChannelTarget.account``), not
to a target, so two targets on one robot share it. A channel's rates are its adapter's documented ones,
or ``LIVESLICE_CHANNEL_RATES`` for that type. Counts live in ``LIVESLICE_RATE_LIMIT_STORAGE``, else the
broker's Redis/Valkey (shared by every worker), else in this process (``memory://``). Counting in process
while the broker is not Redis (RabbitMQ, sqla) multiplies every rate by the number of worker processes:
that is logged as a warning once per process (set ``LIVESLICE_RATE_LIMIT_STORAGE=redis://...``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import limits
from limits.errors import ConcurrentUpdateError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from runtime.broker import EMBEDDED, BrokerError, resolve_broker_url
from runtime.config import Settings
from services.errors import Unavailable
from services.targets import effective_rates

log = logging.getLogger(__name__)

MEMORY = "memory://"
#: Seconds of the minute a channel refuses bursts on (Feishu: error 11232 at :00 and :30).
AVOID_SECONDS: dict[str, tuple[int, ...]] = {"feishu": (0, 30)}
JITTER = 0.5  # seconds added at most to a deferral, so deferred posts do not all wake at once

_limiters: dict[str, MovingWindowRateLimiter] = {}
_lock = threading.Lock()
_warned: set[str] = set()
REDIS_SCHEMES = ("redis://", "rediss://", "valkey://", "valkeys://")
SOCKET_SCHEME = "redis+socket://"


class RateStorageUnavailable(Unavailable):
    """The rate-limit storage (Redis) cannot be reached: nothing was counted or sent; try again later."""

    code = "rate_storage"


@dataclass(frozen=True)
class Decision:
    """Whether a request may go now; if not, the earliest time (epoch seconds) to try again, and the full
    rate's seconds per request (``spacing``: window / limit)."""

    allowed: bool
    retry_at: float = 0.0
    spacing: float = 0.0


def storage_url(settings: Settings) -> str:
    """Where counts are kept (see the module docstring)."""
    if settings.rate_limit_storage.strip():
        return settings.rate_limit_storage.strip()
    broker = settings.broker_url.strip()
    if broker.startswith(REDIS_SCHEMES):
        return broker
    if broker == EMBEDDED:
        try:
            url = resolve_broker_url(settings)
        except BrokerError as exc:
            log.info("rate limits counted in process: %s", exc)
            return MEMORY
        if url.startswith(REDIS_SCHEMES):
            return url
        if url.startswith(
            SOCKET_SCHEME
        ):  # kombu's spelling of the embedded Valkey's unix socket; limits' is redis+unix
            return "redis+unix://" + url[len(SOCKET_SCHEME) :]
        broker = url  # the SQLAlchemy transport (no Valkey binary)
    warn_if_per_process(settings, broker)
    return MEMORY


def warn_if_per_process(settings: Settings, broker: str | None = None) -> bool:
    """Log once per process, and say, when rates are counted per process while workers are several
    processes on a non-Redis broker (each process would allow the full rate)."""
    broker = (broker if broker is not None else settings.broker_url).strip()
    if broker == EMBEDDED:
        try:
            broker = resolve_broker_url(settings)
        except BrokerError:
            return False  # not running yet: decided when it is
    if settings.rate_limit_storage.strip() or broker.startswith(REDIS_SCHEMES):
        return False
    scheme = broker.split("://", 1)[0] or "unknown"
    with _lock:
        if scheme not in _warned:
            _warned.add(scheme)
            log.warning(
                "channel rate limits are counted per process (memory://) because the broker (%s) is not "
                "Redis/Valkey: each publish worker process allows the full rate. Set "
                "LIVESLICE_RATE_LIMIT_STORAGE=redis://... so every worker shares one count",
                scheme,
            )
    return True


def limiter(settings: Settings) -> MovingWindowRateLimiter:
    url = storage_url(settings)
    with _lock:
        found = _limiters.get(url)
        if found is None:
            storage = storage_from_string(url, wrap_exceptions=True)
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
    try:
        return _acquire(settings, channel, account, items, now)
    except (StorageError, ConcurrentUpdateError) as exc:
        cause = getattr(exc, "storage_error", exc)
        raise RateStorageUnavailable(f"the rate-limit storage failed ({type(cause).__name__})") from None


def _acquire(
    settings: Settings, channel: str, account: str, items: list[limits.RateLimitItem], now: float | None
) -> Decision:
    rl = limiter(settings)
    key = f"liveslice-publish:{channel}"
    full = [item for item in items if not rl.test(item, key, account)]
    if not full and all(rl.hit(item, key, account) for item in items):
        return Decision(True)
    full = full or [item for item in items if not rl.test(item, key, account)]
    current = now if now is not None else time.time()
    reset = max((rl.get_window_stats(item, key, account).reset_time for item in full), default=current + 1.0)
    spacing = max((item.get_expiry() / max(1, item.amount) for item in full), default=0.0)
    retry_at = avoid_seconds(channel, max(reset, current) + random.uniform(0.05, JITTER))
    return Decision(False, retry_at, spacing)


def avoid_seconds(channel: str, when: float) -> float:
    """``when`` moved off the seconds of the minute the channel dislikes (Feishu's :00 and :30)."""
    avoid = AVOID_SECONDS.get(channel, ())
    while int(when) % 60 in avoid:
        when = float(int(when) + 1) + random.uniform(0.1, 0.6)
    return when
