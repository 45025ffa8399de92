"""The click log's rules, pure: who is a bot, which in-app browser, the visitor's hashed identity, and
which visits count as unique.

A request to ``/s/{code}`` is a bot when (first match wins):

1. its method is ``HEAD`` (reason ``head``): X sends one GET and three HEADs with browser user agents,
   and preview fetchers probe links the same way; a person's browser never opens a link with HEAD;
2. it has no user agent (``no-agent``);
3. its user agent carries a link-preview fetcher's marker from ``data/preview_agents.txt``
   (``preview:<name>``, e.g. ``preview:dingtalk``, ``preview:telegram``);
4. crawlerdetect's maintained pattern list (the one Shlink uses) matches it (``crawler``).

Bots are stored and flagged, never dropped, and never counted as scans, clicks or unique visitors.
WeChat's and WeCom's in-app browsers (``MicroMessenger``, ``wxwork``) are people. crawlerdetect costs
milliseconds for an agent it has not seen, so :class:`BotDetector` keeps an LRU of verdicts per agent;
none of it runs on the redirect path (the drainer classifies buffered clicks later).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from threading import Lock

from crawlerdetect import CrawlerDetect

#: the same identity visiting the same link again within this counts once
UNIQUE_WINDOW = timedelta(hours=1)
#: user agents whose verdict is remembered (the drainer's working set; ~200 bytes each)
VERDICT_CACHE_SIZE = 4096
#: longer user agents are cut before matching and storing (real ones are a few hundred characters)
MAX_AGENT_CHARS = 1024


@dataclass(frozen=True)
class PreviewAgent:
    """A link-preview fetcher: ``name`` (the app) and a ``token`` found in its user agent."""

    name: str
    token: str


@dataclass(frozen=True)
class Verdict:
    """What a request was: ``bot`` with a ``reason`` (``head``, ``no-agent``, ``preview:<name>``,
    ``crawler``), or a person, maybe in an ``in_app`` browser (``wechat`` | ``wecom``)."""

    bot: bool
    reason: str | None = None
    in_app: str | None = None


HUMAN = Verdict(bot=False)


def parse_preview_agents(text: str) -> tuple[PreviewAgent, ...]:
    """The entries of a preview-agents file: ``<name> <token>`` per line, ``#`` comments, blank lines."""
    agents: list[PreviewAgent] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, token = line.partition(" ")
        token = token.strip()
        if not token:
            raise ValueError(f"preview_agents.txt:{number}: expected '<name> <token>', got {raw!r}")
        agents.append(PreviewAgent(name=name.lower(), token=token))
    return tuple(agents)


@lru_cache(maxsize=1)
def preview_agents() -> tuple[PreviewAgent, ...]:
    """The packaged list (``distribution/data/preview_agents.txt``)."""
    text = resources.files("distribution").joinpath("data/preview_agents.txt").read_text(encoding="utf-8")
    return parse_preview_agents(text)


def in_app_browser(user_agent: str | None) -> str | None:
    """``wecom`` for WeCom's browser (``wxwork``, which also says MicroMessenger), ``wechat`` for
    WeChat's (``MicroMessenger``), else None."""
    lowered = (user_agent or "").lower()
    if "wxwork" in lowered:
        return "wecom"
    if "micromessenger" in lowered:
        return "wechat"
    return None


class BotDetector:
    """Classifies requests; thread-safe; remembers the last :data:`VERDICT_CACHE_SIZE` agents' verdicts."""

    def __init__(self, agents: tuple[PreviewAgent, ...] | None = None, *, cache_size: int = VERDICT_CACHE_SIZE) -> None:
        listed = preview_agents() if agents is None else agents
        self._agents = tuple((agent.name, agent.token.lower()) for agent in listed)
        self._crawlers = CrawlerDetect()
        self._cache: OrderedDict[str, Verdict] = OrderedDict()
        self._size = cache_size
        self._lock = Lock()
        self.misses = 0  # agents classified from scratch (for tests and tuning)

    def classify(self, method: str, user_agent: str | None) -> Verdict:
        """The verdict for one request (see the module's rules)."""
        agent = (user_agent or "").strip()[:MAX_AGENT_CHARS]
        if method.upper() == "HEAD":
            return Verdict(bot=True, reason="head", in_app=in_app_browser(agent))
        if not agent:
            return Verdict(bot=True, reason="no-agent")
        with self._lock:
            cached = self._cache.get(agent)
            if cached is not None:
                self._cache.move_to_end(agent)
                return cached
        verdict = self._by_agent(agent)
        with self._lock:
            self.misses += 1
            self._cache[agent] = verdict
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return verdict

    def _by_agent(self, agent: str) -> Verdict:
        lowered = agent.lower()
        for name, token in self._agents:
            if token in lowered:
                return Verdict(bot=True, reason=f"preview:{name}")
        in_app = in_app_browser(agent)
        with self._lock:  # CrawlerDetect keeps the last matches on the instance: not reentrant
            crawler = self._crawlers.isCrawler(agent)
        if crawler:
            return Verdict(bot=True, reason="crawler")
        return Verdict(bot=False, in_app=in_app)


def identity(salt: str, ip: str | None, user_agent: str | None) -> str:
    """The visitor's identity: hex HMAC-SHA256 keyed by ``salt`` over ``ip + "\\n" + user agent``.

    The raw IP is never stored; without the salt (the deployment's secret key) the hash cannot be
    reversed by trying all IPv4 addresses.
    """
    message = f"{ip or ''}\n{user_agent or ''}".encode("utf-8", "surrogateescape")
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()


def is_unique_visit(last_unique: datetime | None, at: datetime) -> bool:
    """Whether a human visit at ``at`` counts as a new unique visit, given the same identity's last
    unique visit to the same link (None: never). Visits within :data:`UNIQUE_WINDOW` of it count once."""
    return last_unique is None or at - last_unique >= UNIQUE_WINDOW
