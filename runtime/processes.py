"""Child processes that are restarted when they die and stopped with a grace period (serve, the broker)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        prctl: Callable[..., int] = ctypes.CDLL(name or "libc.so.6", use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:  # runs in the forked child before exec
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


class SupervisedProcess:
    """A child process that is restarted when it dies, and stopped with a signal and a grace period.

    ``launch`` starts the process and returns once it is ready (raising if it cannot start).
    More than ``max_restarts`` deaths within ``restart_window`` seconds: give up and call ``on_give_up``.
    """

    def __init__(
        self,
        name: str,
        launch: Callable[[], subprocess.Popen[bytes]],
        *,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 30.0,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        poll_interval: float = 0.5,
        on_give_up: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._launch = launch
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.poll_interval = poll_interval
        self.on_give_up = on_give_up
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._deaths: deque[float] = deque()

    @staticmethod
    def spawn(
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdout: int | IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own session (so a terminal's Ctrl-C reaches only us); it dies with us."""
        return subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout not in (None, subprocess.DEVNULL) else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if _PRCTL is not None else None,
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Launch the process (raises if it cannot start) and begin watching it."""
        self._proc = self._launch()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{self.name}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_interval):
            with self._lock:
                if self._stopping.is_set() or self._proc is None or self._proc.poll() is None:
                    continue
                code = self._proc.returncode
                now = time.monotonic()
                self._deaths.append(now)
                while self._deaths and now - self._deaths[0] > self.restart_window:
                    self._deaths.popleft()
                if len(self._deaths) > self.max_restarts:
                    log.error("%s died %d times in %.0fs; giving up", self.name, len(self._deaths), self.restart_window)
                    self._proc = None
                    break
                log.warning("%s exited with %s; restarting", self.name, code)
                try:
                    self._proc = self._launch()
                    self.restarts += 1
                except Exception:  # logged; the next poll counts it as another death
                    log.exception("%s could not be restarted", self.name)
        if not self._stopping.is_set() and self.on_give_up is not None:
            self.on_give_up()

    def stop(self) -> int | None:
        """Signal the process, wait up to ``stop_timeout`` seconds, then kill it. Returns its exit code."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.stop_timeout + 5)
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", self.name, self.stop_timeout)
                proc.kill()
                proc.wait()
        return proc.returncode

    def wait(self, timeout: float | None = None) -> bool:
        """Block until supervision ends (stopped or gave up); True if it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
