"""Prometheus ``/metrics``: jobs by kind and status, queue depth, broker health, task durations.

Jobs and queue depth are read at scrape time (one GROUP BY; one passive ``queue_declare`` per queue,
with a short timeout so a down broker gives ``liveslice_broker_up 0`` rather than a hung scrape).
Task durations are recorded by the workers (:mod:`workers.signals`); with ``PROMETHEUS_MULTIPROC_DIR``
set (``liveslice serve`` sets it to ``run/prometheus`` under the media root) they are summed from
the worker processes' files. Access: loopback clients, or anyone with ``LIVESLICE_METRICS_TOKEN``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response, status
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SettingsDep
from runtime.config import Settings
from runtime.logs import RequestIdMiddleware
from store.db import get_sessionmaker
from store.models import Job

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
BROKER_TIMEOUT = 1.5  # seconds per broker operation at scrape time

router = APIRouter(tags=["metrics"])


def metrics_dir(settings: Settings) -> Path:
    """Where worker processes on this machine write their samples: ``<media>/run/prometheus``."""
    return settings.run_dir / "prometheus"


def enable_multiprocess_metrics(directory: Path) -> Path:
    """Empty ``directory`` and point ``PROMETHEUS_MULTIPROC_DIR`` at it (child processes inherit it).

    Call before starting the worker processes; samples from an earlier run would otherwise be summed in.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def task_metrics_registry(directory: Path | None = None) -> CollectorRegistry:
    """The task metrics: summed from a multiprocess directory, else this process's default registry."""
    path = directory or (Path(os.environ[MULTIPROC_ENV]) if os.environ.get(MULTIPROC_ENV) else None)
    if path is None or not path.is_dir():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))
    return registry


def job_counts(settings: Settings) -> dict[tuple[str, str], int]:
    """``{(kind, status): count}`` over all job rows (one GROUP BY)."""
    session = get_sessionmaker(settings.database_url)()
    try:
        rows = session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)).all()
    finally:
        session.close()
    return {(str(kind), str(state)): int(count) for kind, state, count in rows}


def queue_depths(settings: Settings, *, timeout: float = BROKER_TIMEOUT) -> dict[str, int]:
    """Messages waiting in each Celery queue; raises if the broker cannot be reached within ``timeout``.

    ``queue_declare`` answers on Redis/Valkey (LLEN over the priority lists), AMQP (passive: the
    queue's message count) and kombu's SQLAlchemy transport (visible rows). A queue that does not
    exist yet holds nothing.
    """
    from amqp.exceptions import NotFound as AmqpNotFound
    from kombu import Connection
    from kombu.exceptions import ChannelError
    from kombu.transport.virtual import Channel as VirtualChannel

    from workers.app import get_celery

    celery = get_celery(settings)
    options = dict(celery.conf.broker_transport_options or {})
    url = str(celery.conf.broker_url)
    if url.startswith(("redis", "rediss", "valkey")):
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    depths: dict[str, int] = {}
    with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1, timeout=timeout)
        for queue in celery.conf.task_queues or ():
            channel = conn.channel()
            # kombu's virtual transports (Redis, SQLAlchemy) declare without side effects and count what is
            # waiting; their passive check misses prefixed Redis keys (EXISTS is not prefixed). AMQP: passive.
            passive = not isinstance(channel, VirtualChannel)
            try:
                depths[queue.name] = int(channel.queue_declare(queue=queue.name, passive=passive).message_count)
            except (ChannelError, AmqpNotFound):  # not declared yet: nothing waiting
                depths[queue.name] = 0
            finally:
                _close_quietly(channel)
    return depths


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except OSError as exc:
        log.debug("closing a broker channel: %s", exc)


class LivesliceCollector(Collector):
    """Scrape-time gauges: jobs by kind/status, queue depth, broker and database health."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        yield from self._jobs()
        yield from self._queues()

    def _jobs(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("liveslice_database_up", "1 if the job table could be read at scrape time.")
        try:
            counts = job_counts(self.settings)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreadable: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        jobs = GaugeMetricFamily("liveslice_jobs", "Job rows by kind and status.", labels=["kind", "status"])
        kinds = sorted({kind for kind, _ in counts})
        statuses = sorted(set(JOB_STATUSES) | {state for _, state in counts})
        for kind in kinds:
            for state in statuses:
                jobs.add_metric([kind, state], counts.get((kind, state), 0))
        return [up, jobs]

    def _queues(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("liveslice_broker_up", "1 if the broker answered at scrape time.")
        try:
            depths = queue_depths(self.settings)
        except Exception as exc:  # kombu raises many types (OSError, OperationalError, BrokerUnavailable ...)
            log.warning("metrics: broker unreachable: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        depth = GaugeMetricFamily("liveslice_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        for name, count in sorted(depths.items()):
            depth.add_metric([name], count)
        return [up, depth]


def render_metrics(settings: Settings) -> bytes:
    """The Prometheus text exposition for ``settings``."""
    scrape = CollectorRegistry()
    scrape.register(LivesliceCollector(settings))
    return generate_latest(scrape) + generate_latest(task_metrics_registry())


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(request: Request, settings: Settings) -> None:
    """Loopback clients get in; others need ``Authorization: Bearer <LIVESLICE_METRICS_TOKEN>``."""
    token = settings.metrics_token
    auth = request.headers.get("authorization", "")
    presented = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if token and presented and hmac.compare_digest(presented.encode(), token.encode()):
        return
    if _is_loopback(request.client.host if request.client else None):
        return
    if not token:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "/metrics answers loopback only; set LIVESLICE_METRICS_TOKEN")
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "send 'Authorization: Bearer <LIVESLICE_METRICS_TOKEN>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep) -> Response:
    check_access(request, settings)
    return Response(render_metrics(settings), media_type=CONTENT_TYPE)


def install_observability(app: FastAPI) -> None:
    """Add ``/metrics`` and the request-id middleware to ``app``."""
    app.include_router(router)
    app.add_middleware(RequestIdMiddleware)


def serve_worker_metrics(settings: Settings, port: int, addr: str = "0.0.0.0") -> Callable[[], None]:
    """For ``liveslice worker --metrics-port``: this worker's task metrics on ``addr:port``; returns a stop.

    Call before the Celery child starts: it inherits a fresh ``PROMETHEUS_MULTIPROC_DIR`` of its own.
    """
    from prometheus_client import start_http_server

    directory = enable_multiprocess_metrics(metrics_dir(settings) / f"worker-{os.getpid()}")
    server, thread = start_http_server(port, addr=addr, registry=task_metrics_registry(directory))
    log.info("worker metrics on http://%s:%d/metrics", addr, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)

    return stop
