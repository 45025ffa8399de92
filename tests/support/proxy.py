"""A loopback TCP proxy that can drop a connection after N bytes from the client.

Use it to simulate a dropped upload: point a client at ``proxy.url`` and the proxy forwards to
the real server, but closes both sides of a connection once ``cut_after`` bytes have gone from
the client towards the server (the first ``cuts`` connections that get that far; later ones pass).

    with CuttingProxy("127.0.0.1", server_port, cut_after=2_000_000) as proxy:
        requests.patch(proxy.url + "/upload/x", data=big)   # raises: connection dropped
        assert proxy.cut_events == 1
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

BUFFER = 64 * 1024


class CuttingProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; cut connections after ``cut_after`` client bytes.

    ``cut_after=None`` never cuts. ``reset=True`` ends both sides with a TCP RST instead of a FIN.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        cut_after: int | None = None,
        cuts: int = 1,
        reset: bool = False,
    ) -> None:
        self.target = (target_host, target_port)
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.reset = reset
        self.cut_events = 0
        self.client_bytes = 0  # forwarded client -> server, all connections
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)  # so the accept loop notices close() promptly
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="cutting-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CuttingProxy:
        self._acceptor.start()
        return self

    def wait_cut(self, timeout: float = 10.0) -> bool:
        """Block until a connection has been cut; True if it was."""
        return self._cut.wait(timeout)

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks = list(self._sockets)
        for sock in socks:
            _close(sock, reset=False)
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)

    def __enter__(self) -> CuttingProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client, reset=True)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
                budget = self.cut_after if (self.cut_after is not None and self.cuts_left > 0) else None
            conn = _Connection(self, client, upstream, budget)
            threading.Thread(target=conn.pump_up, daemon=True).start()
            threading.Thread(target=conn.pump_down, daemon=True).start()

    def _record_cut(self) -> bool:
        """Claim one of the remaining cuts; False when another connection used the last one."""
        with self._lock:
            if self.cuts_left <= 0:
                return False
            self.cuts_left -= 1
            self.cut_events += 1
        self._cut.set()
        return True

    def _count(self, n: int) -> None:
        with self._lock:
            self.client_bytes += n

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)


class _Connection:
    """One proxied connection: a client->server pump (which may cut) and a server->client pump."""

    def __init__(self, proxy: CuttingProxy, client: socket.socket, upstream: socket.socket, budget: int | None):
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.budget = budget
        self.done = threading.Event()
        self._pumps_left = 2
        self._lock = threading.Lock()

    def _pump_finished(self) -> None:
        with self._lock:
            self._pumps_left -= 1
            last = self._pumps_left == 0
        if last and not self.done.is_set():
            self.done.set()
            _close(self.client, reset=False)
            _close(self.upstream, reset=False)
            self.proxy._forget(self.client, self.upstream)

    def pump_up(self) -> None:
        sent = 0
        try:
            while True:
                data = self.client.recv(BUFFER)
                if not data:
                    with contextlib.suppress(OSError):
                        self.upstream.shutdown(socket.SHUT_WR)
                    self._pump_finished()
                    return
                if self.budget is not None and sent + len(data) >= self.budget:
                    keep = data[: self.budget - sent]
                    if self.proxy._record_cut():
                        if keep:
                            self.upstream.sendall(keep)
                            self.proxy._count(len(keep))
                        self._cut_both()
                        return
                    self.budget = None  # cuts used up by another connection: pass through
                self.upstream.sendall(data)
                sent += len(data)
                self.proxy._count(len(data))
        except OSError:
            self._cut_both()

    def pump_down(self) -> None:
        try:
            while True:
                data = self.upstream.recv(BUFFER)
                if not data:
                    with contextlib.suppress(OSError):
                        self.client.shutdown(socket.SHUT_WR)
                    self._pump_finished()
                    return
                self.client.sendall(data)
        except OSError:
            self._cut_both()

    def _cut_both(self) -> None:
        if self.done.is_set():
            return
        self.done.set()
        _close(self.client, reset=self.proxy.reset)
        _close(self.upstream, reset=self.proxy.reset)
        self.proxy._forget(self.client, self.upstream)


def _close(sock: socket.socket, *, reset: bool) -> None:
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
