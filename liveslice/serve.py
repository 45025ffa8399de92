"""Process supervision for ``liveslice serve`` and ``liveslice worker``.

``serve`` runs everything on one machine: migrations (SQLite), the embedded broker, a Celery worker
child process, a reconciler thread and uvicorn in the foreground. Ctrl-C / SIGTERM stops it all:
the worker gets a warm shutdown, then the broker stops.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from runtime.config import Settings, get_settings
from runtime.logs import configure_logging
from runtime.processes import SupervisedProcess

log = logging.getLogger(__name__)

ALL_QUEUES = ("analysis", "render", "publish")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class RuntimeSetupError(Exception):
    """serve/worker cannot start; the message says what to fix."""


def settings_env(settings: Settings) -> dict[str, str]:
    """``LIVESLICE_*`` variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dict):  # channel_rates: 'wecom=20/minute,feishu=5/second;100/minute'
            text = ",".join(f"{k}={v}" for k, v in value.items())
        else:
            text = str(value)
        env[f"LIVESLICE_{name.upper()}"] = text
    return env


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus the settings, with the project importable."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    path = env.get("PYTHONPATH", "")
    if str(PROJECT_ROOT) not in path.split(os.pathsep):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), path) if p)
    return env


def worker_argv(
    *, queues: Sequence[str] = ALL_QUEUES, concurrency: int = 2, loglevel: str = "INFO", name: str | None = None
) -> list[str]:
    """The Celery worker command line (pure)."""
    unknown = set(queues) - set(ALL_QUEUES)
    if unknown or not queues:
        raise RuntimeSetupError(f"unknown queues {sorted(unknown)}; choose from {', '.join(ALL_QUEUES)}")
    # unique per worker, even for several started by one process: a shared node name makes RabbitMQ
    # refuse the second worker's exclusive control queue (and Redis mix up their replies)
    node = name or f"liveslice-{os.getpid()}-{secrets.token_hex(3)}@%h"
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "-Q",
        ",".join(queues),
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        loglevel,
        "-n",
        node,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def worker_plan(
    settings: Settings, queues: Sequence[str], concurrency: int, *, per_process_rates: bool | None = None
) -> list[tuple[tuple[str, ...], int]]:
    """The worker processes to start, as (queues, concurrency). When channel rates are counted in process
    (``memory://``: no Redis), the ``publish`` queue gets a worker of its own with concurrency 1, so one
    process holds every count on this machine (several machines still need a shared
    ``LIVESLICE_RATE_LIMIT_STORAGE``, which :func:`services.rate_limits.warn_if_per_process` says)."""
    if per_process_rates is None:
        from services.rate_limits import MEMORY, storage_url, warn_if_per_process

        per_process_rates = storage_url(settings) == MEMORY
        warn_if_per_process(settings)
    queues = tuple(queues)
    if not per_process_rates or "publish" not in queues or (queues == ("publish",) and concurrency == 1):
        return [(queues, concurrency)]
    rest = tuple(q for q in queues if q != "publish")
    return ([(rest, concurrency)] if rest else []) + [(("publish",), 1)]


def prepare(settings: Settings) -> None:
    """Create folders; migrate SQLite; refuse an out-of-date server database with the fix."""
    from store.db import is_up_to_date, upgrade

    settings.ensure_dirs()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    elif not is_up_to_date(settings.database_url):
        raise RuntimeSetupError("the database schema is out of date: run `liveslice db upgrade`")


def start_worker(
    settings: Settings,
    *,
    queues: Sequence[str] = ALL_QUEUES,
    concurrency: int | None = None,
    stdout: IO[bytes] | None = None,
    on_give_up: Callable[[], None] | None = None,
) -> SupervisedProcess:
    """A supervised ``celery worker`` child process for ``settings``."""
    argv = worker_argv(queues=queues, concurrency=concurrency or settings.worker_concurrency)
    env = child_env(settings)

    def launch() -> subprocess.Popen[bytes]:
        return SupervisedProcess.spawn(argv, env=env, cwd=PROJECT_ROOT, stdout=stdout)

    proc = SupervisedProcess("worker", launch, stop_timeout=60.0, on_give_up=on_give_up)
    proc.start()
    log.info("celery worker started (pid %s, queues %s)", proc.pid, ",".join(queues))
    return proc


def start_click_drainer(settings: Settings, *, on_give_up: Callable[[], None] | None = None) -> SupervisedProcess:
    """A supervised ``liveslice clicks drain --follow`` child: it stores the clicks the API buffers."""
    argv = [sys.executable, "-m", "liveslice", "clicks", "drain", "--follow"]
    env = child_env(settings)

    def launch() -> subprocess.Popen[bytes]:
        return SupervisedProcess.spawn(argv, env=env, cwd=PROJECT_ROOT)

    proc = SupervisedProcess("click-drainer", launch, stop_timeout=30.0, on_give_up=on_give_up)
    proc.start()
    log.info("click drainer started (pid %s)", proc.pid)
    return proc


class ReconcilerThread(threading.Thread):
    """Runs :func:`workers.reconcile.reconcile` every ``every`` seconds until stopped."""

    def __init__(self, settings: Settings, every: float | None = None) -> None:
        super().__init__(name="reconciler", daemon=True)
        self.settings = settings
        self.every = every if every is not None else settings.reconcile_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        from workers.reconcile import reconcile

        while not self._stop_event.wait(self.every):
            try:
                report = reconcile(self.settings)
            except Exception:  # a failed pass is logged; the next one tries again
                log.exception("reconcile pass failed")
                continue
            if report.changed:
                log.info("reconcile: %s", report.summary())
            self._purge_uploads()

    def _purge_uploads(self) -> None:
        """Drop resumable uploads past their expiry, and staging files no row owns."""
        from services.uploads import purge_expired_uploads
        from store.db import get_sessionmaker

        session = get_sessionmaker(self.settings.database_url)()
        try:
            purged = purge_expired_uploads(self.settings, session)
        except Exception:  # logged; the next pass tries again
            log.exception("purging expired uploads failed")
            return
        finally:
            session.close()
        if purged:
            log.info("purged %d expired uploads", purged)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.every + 10)


def _export(settings: Settings) -> None:
    """Make this process's environment match ``settings`` (uvicorn's app factory reads it)."""
    os.environ.update(settings_env(settings))
    get_settings.cache_clear()


class _GiveUp:
    """Called when a supervised child keeps dying: remember which, and stop serve like SIGTERM would."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, name: str) -> Callable[[], None]:
        def give_up() -> None:
            self.failed.append(name)
            os.kill(os.getpid(), signal.SIGTERM)

        return give_up


class _Shutdown(Exception):
    """Raised in the main thread by SIGINT/SIGTERM so that cleanup runs."""


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into :class:`_Shutdown`; later ones while stopping are only logged.

    uvicorn captures these signals while it serves and re-raises them once it has shut down;
    they reach this handler then, and the stack of children unwinds in order.
    """
    stopping = False

    def handle(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            log.warning("still stopping (the worker finishes its current tasks first)")
            return
        stopping = True
        raise _Shutdown(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Shutdown as exc:
        log.info("stopped by %s", exc)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    worker: bool = True,
    reload: bool = False,
    reconcile_every: float | None = None,
) -> None:
    """Run the whole system in the foreground until Ctrl-C or SIGTERM."""
    import uvicorn

    from runtime.broker import EMBEDDED, EmbeddedBroker, broker_mode

    prepare(settings)
    settings = settings.model_copy(update={"click_drain": "separate"})  # the drainer below, not the API
    _export(settings)
    configure_logging(settings)
    from api.metrics import enable_multiprocess_metrics, metrics_dir

    enable_multiprocess_metrics(metrics_dir(settings))  # the worker's children write task metrics here
    mode, reason = broker_mode(settings)
    if reason:
        log.warning("%s", reason)
    give_up = _GiveUp()
    with _stop_on_signals(), contextlib.ExitStack() as stack:
        if mode == EMBEDDED:
            broker = EmbeddedBroker(settings, on_give_up=give_up("the embedded broker"))
            broker.start()
            stack.callback(broker.stop)
        if worker:
            for queues, concurrency in worker_plan(settings, ALL_QUEUES, settings.worker_concurrency):
                child = start_worker(
                    settings, queues=queues, concurrency=concurrency, on_give_up=give_up("the celery worker")
                )
                stack.callback(child.stop)
        drainer = start_click_drainer(settings, on_give_up=give_up("the click drainer"))
        stack.callback(drainer.stop)
        reconciler = ReconcilerThread(settings, every=reconcile_every)
        reconciler.start()
        stack.callback(reconciler.stop)
        stack.callback(log.info, "shutting down: reconciler, click drainer, worker, broker")
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            reload=reload,
            reload_dirs=[str(PROJECT_ROOT)] if reload else None,
            log_config=None,  # uvicorn's loggers go through configure_logging's handler (text or JSON)
        )
    if give_up.failed:
        raise RuntimeSetupError(f"{' and '.join(give_up.failed)} kept crashing; see the log above")


def run_worker(
    settings: Settings,
    *,
    queues: Sequence[str] = ALL_QUEUES,
    concurrency: int | None = None,
    beat: bool = False,
    reconcile_every: float | None = None,
    metrics_port: int | None = None,
    metrics_addr: str = "0.0.0.0",
) -> int:
    """``liveslice worker``: a Celery worker (plus the reconciler with ``beat``) until Ctrl-C or SIGTERM."""
    from runtime.broker import BrokerUnavailable, resolve_broker_url

    prepare(settings)
    configure_logging(settings)
    try:
        resolve_broker_url(settings)
    except BrokerUnavailable as exc:
        raise RuntimeSetupError(str(exc)) from exc
    if metrics_port is not None:
        from api.metrics import serve_worker_metrics

        stop_metrics = serve_worker_metrics(settings, metrics_port, metrics_addr)
        atexit.register(stop_metrics)
    done, gave_up = threading.Event(), threading.Event()

    def give_up() -> None:
        gave_up.set()
        done.set()

    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        plan = worker_plan(settings, queues, concurrency or settings.worker_concurrency)
        children = [start_worker(settings, queues=q, concurrency=c, on_give_up=give_up) for q, c in plan]
        reconciler = ReconcilerThread(settings, every=reconcile_every) if beat else None
        if reconciler is not None:
            reconciler.start()
        while not done.wait(1.0):
            pass
        if reconciler is not None:
            reconciler.stop()
        for child in children:
            child.stop()
        return 1 if gave_up.is_set() else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
