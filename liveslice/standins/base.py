"""Local stand-ins for the services liveslice publishes to (WeCom, Feishu, DingTalk, Telegram, Slack,
Discord, a signed webhook). Each speaks and checks its service's documented format, signature and rate
limit, so the demo and the tests publish for real over HTTP without reaching the internet.

A stand-in runs in a thread (:meth:`StandIn.start`), keeps every accepted post in :attr:`StandIn.posts`
and every request in :attr:`StandIn.requests`, and can be told to misbehave: answer the next requests
with a 429 and Retry-After, a 5xx, or accept a post and then stall past the client's timeout
(:meth:`StandIn.fail_next`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Mapping[str, str], bytes]


@dataclass
class Received:
    """One request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Fault:
    """What the next matching request gets instead of normal handling."""

    THROTTLE, ERROR, STALL = "throttle", "error", "stall"

    def __init__(self, kind: str, *, retry_after: float = 1.0, status: int = 500, stall: float = 5.0) -> None:
        self.kind, self.retry_after, self.status, self.stall = kind, retry_after, status, stall


class RateWindow:
    """A sliding window: at most ``limit`` events in ``seconds``, per account."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.events: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, account: str) -> bool:
        now = time.monotonic()
        with self.lock:
            events = self.events.setdefault(account, deque())
            while events and now - events[0] >= self.seconds:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True


class StandIn:
    """A stand-in service. Subclasses implement :meth:`handle` (and set :attr:`name`)."""

    name = "standin"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rates: tuple[tuple[int, float], ...] = ()) -> None:
        self.host, self.port = host, port
        self.windows = [RateWindow(limit, seconds) for limit, seconds in rates]
        self.requests: list[Received] = []
        self.posts: list[dict[str, Any]] = []
        self.rejected_for_rate = 0
        self.faults: deque[Fault] = deque()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self.server is not None, "start() the stand-in first"
        return f"http://{self.host}:{self.server.server_address[1]}"

    def start(self) -> StandIn:
        handler = _handler_for(self)
        self.server = ThreadingHTTPServer((self.host, self.port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"standin-{self.name}", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting --------------------------------------------------------------------------------
    def fail_next(self, kind: str, count: int = 1, **options: Any) -> None:
        """The next ``count`` posting requests get ``kind``: Fault.THROTTLE, Fault.ERROR or Fault.STALL."""
        with self.lock:
            self.faults.extend(Fault(kind, **options) for _ in range(count))

    def take_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def over_rate(self, account: str) -> bool:
        """Count one message against every window; True (and counted as a rejection) if one is full."""
        allowed = all(window.allow(account) for window in self.windows)
        if not allowed:
            with self.lock:
                self.rejected_for_rate += 1
        return not allowed

    def gate(
        self,
        account: str,
        post: dict[str, Any],
        *,
        throttled: Callable[[float], Reply],
        error: Callable[[int], Reply] | None = None,
    ) -> Reply | None:
        """Apply a scripted fault or the rate limit to a valid post; None means it was accepted (the caller
        then answers success). A stall accepts the post, then answers too late."""
        fault = self.take_fault()
        if fault is not None and fault.kind == Fault.THROTTLE:
            return throttled(fault.retry_after)
        if fault is not None and fault.kind == Fault.ERROR:
            return (error or _server_error)(fault.status)
        if self.over_rate(account):
            return throttled(max(w.seconds for w in self.windows))
        self.accept(post)
        if fault is not None and fault.kind == Fault.STALL:
            time.sleep(fault.stall)
        return None

    def accept(self, post: dict[str, Any]) -> None:
        with self.lock:
            self.posts.append(post)

    # --- the service --------------------------------------------------------------------------------
    def handle(self, request: Received) -> Reply:
        raise NotImplementedError

    def dispatch(self, request: Received) -> Reply:
        with self.lock:
            self.requests.append(request)
        return self.handle(request)


def json_reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def _server_error(status: int) -> Reply:
    return json_reply({"error": "internal error (stand-in fault)"}, status)


def _handler_for(standin: StandIn) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply_headers, payload = standin.dispatch(Received(self.command, parts.path, query, headers, body))
            try:
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a stalled answer): nothing to send

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tests and the demo read the recorded requests instead

    return Handler
