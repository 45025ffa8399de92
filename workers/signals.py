"""Celery signal handlers: worker logging, per-task log context, and the task duration histogram.

Imported by :mod:`workers.app`, so every process that builds the app has them connected. In a
worker, ``task_prerun`` binds the task's name and id and its ``job_id``/``clip_id``/``recording_id``
arguments to the log context (see :mod:`runtime.logs`); ``task_postrun`` records the duration
with the outcome (``success``, ``failure``, ``retry`` ...) and unbinds.

The histogram lives in ``prometheus_client``'s default registry. With ``PROMETHEUS_MULTIPROC_DIR``
set before this module is imported (``liveslice serve`` and ``liveslice worker --metrics-port`` do),
every prefork child writes its samples there and the API or the worker's metrics port adds them up.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import time
from typing import Any

from celery import Task
from celery.signals import setup_logging, task_postrun, task_prerun
from prometheus_client import Histogram

from runtime.config import get_settings
from runtime.logs import bind_context, configure_logging, reset_context

log = logging.getLogger(__name__)

ID_FIELDS = ("job_id", "clip_id", "recording_id")
TASK_DURATION = Histogram(
    "liveslice_task_duration_seconds",
    "Wall time of Celery task runs, by task name and outcome.",
    ["task", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)

_running: dict[str, tuple[contextvars.Token[dict[str, str]], float]] = {}


def task_ids(task: Task, args: Any, kwargs: Any) -> dict[str, str]:
    """The job/clip/recording ids a task was called with, positional or keyword."""
    try:
        values = dict(inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments)
    except (TypeError, ValueError):  # a call that does not fit the signature: keep the keywords
        values = dict(kwargs or {})
    return {name: str(values[name]) for name in ID_FIELDS if values.get(name) is not None}


@setup_logging.connect
def _configure_worker_logging(loglevel: int | None = None, **_: Any) -> None:
    """Celery leaves logging to us when this signal has a receiver: the same format as serve."""
    settings = get_settings()
    level = logging.getLevelName(settings.log_level)
    if isinstance(loglevel, int) and loglevel < level:
        level = loglevel  # `celery worker --loglevel DEBUG` still shows more
    configure_logging(settings, level=level)


@task_prerun.connect
def _task_started(task_id: str, task: Task, args: Any = None, kwargs: Any = None, **_: Any) -> None:
    token = bind_context(task_name=task.name, task_id=task_id, **task_ids(task, args, kwargs))
    _running[task_id] = (token, time.perf_counter())


@task_postrun.connect
def _task_finished(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    entry = _running.pop(task_id, None)
    if entry is None:
        return
    token, started = entry
    TASK_DURATION.labels(task=task.name, outcome=(state or "unknown").lower()).observe(time.perf_counter() - started)
    try:
        reset_context(token)
    except ValueError:  # postrun ran in another context than prerun: leave that context as it is
        log.debug("task %s finished outside the context it started in", task_id)
