"""The Celery application. ``celery -A workers.app worker`` finds ``app`` here.

The broker comes from ``LIVESLICE_BROKER_URL``: ``embedded`` (the Valkey that ``liveslice serve``
runs, found through ``run/broker.json``), ``sqla`` (kombu's SQLAlchemy transport over SQLite), or a
redis://, rediss:// or amqp:// URL. There is no result backend: job rows in the database hold results.
Extra Celery settings may come from a module named by ``LIVESLICE_CELERY_CONFIG``.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu import Exchange, Queue

from runtime.broker import resolve_broker_url
from runtime.config import Settings, get_settings
from workers import signals as _signals  # noqa: F401  (connects logging, log-context and metrics handlers)

QUEUES = ("analysis", "render", "publish")
TASK_ROUTES: dict[str, dict[str, str]] = {"liveslice.probe_recording": {"queue": "analysis"}}
CONFIG_ENV = "LIVESLICE_CELERY_CONFIG"
VISIBILITY_TIMEOUT = 3600  # redis: an unacked message is redelivered after this many seconds


def celery_config(broker_url: str) -> dict[str, Any]:
    """Celery settings for ``broker_url`` (pure, apart from the optional override module)."""
    transport: dict[str, Any] = {}
    if broker_url.startswith(("redis", "rediss", "valkey")):
        transport = {"visibility_timeout": VISIBILITY_TIMEOUT, "socket_connect_timeout": 5}
    config: dict[str, Any] = {
        "broker_url": broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        "task_default_queue": "analysis",
        "task_routes": TASK_ROUTES,
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        "worker_hijack_root_logger": False,
        "worker_log_format": "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s",
        "worker_task_log_format": (
            "%(asctime)s %(levelname)s [%(processName)s] %(task_name)s[%(task_id)s] %(name)s: %(message)s"
        ),
        "worker_send_task_events": True,  # Flower (and `celery events`) follow tasks through these
        "task_send_sent_event": True,
        "include": ["workers.tasks"],
    }
    if broker_url.startswith("sqla+"):
        # kombu's SQLAlchemy transport has no fanout: no remote control, no events.
        config["worker_enable_remote_control"] = False
        config["worker_send_task_events"] = config["task_send_sent_event"] = False
    _apply_overrides(config)
    return config


def _apply_overrides(config: dict[str, Any]) -> None:
    module_name = os.environ.get(CONFIG_ENV, "").strip()
    if not module_name:
        return
    module = importlib.import_module(module_name)
    for key in dir(module):
        if key.startswith("_") or not key.islower():
            continue
        value = getattr(module, key)
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value


def create_celery(settings: Settings, *, broker_url: str | None = None) -> Celery:
    """A Celery app for ``settings``. Raises ``BrokerUnavailable`` if the embedded broker is not running."""
    url = broker_url or resolve_broker_url(settings)
    config = celery_config(url)
    include = config.pop("include")
    celery = Celery("liveslice", include=include, set_as_current=False)
    celery.conf.update(config)
    return celery


@lru_cache(maxsize=8)
def _celery_for(url: str) -> Celery:
    return create_celery(get_settings(), broker_url=url)


def get_celery(settings: Settings) -> Celery:
    """The process's Celery app for sending to ``settings``'s broker (one per broker URL)."""
    return _celery_for(resolve_broker_url(settings))


@worker_process_init.connect
def _fresh_engines(**_: Any) -> None:
    """Prefork children must not share the parent's database connections."""
    from store.db import get_engine, get_sessionmaker

    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


_app: Celery | None = None


def __getattr__(name: str) -> Celery:
    """``app`` is built on first use from the environment's settings, so importing this module is cheap."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_celery(get_settings())
        _app.set_current()
        _app.set_default()
    return _app
