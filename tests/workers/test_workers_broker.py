"""The embedded Valkey broker: socket, state file, single instance, supervision, persistence, fallbacks."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path

import pytest
import redis

from runtime.broker import (
    BrokerError,
    BrokerUnavailable,
    EmbeddedBroker,
    broker_mode,
    describe_broker,
    mask_url,
    read_state,
    resolve_broker_url,
    sqla_broker_url,
    state_path,
)
from runtime.config import Settings
from tests.conftest import make_settings
from workers.app import create_celery


def _client(url: str) -> redis.Redis:
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"))
    return redis.Redis.from_url(url)


def test_embedded_broker_serves_a_unix_socket_and_records_its_url(settings: Settings) -> None:
    with pytest.raises(BrokerUnavailable, match="liveslice serve"):
        resolve_broker_url(settings)
    with EmbeddedBroker(settings) as broker:
        url = resolve_broker_url(settings)
        assert url == broker.url == f"redis+socket://{settings.run_dir / 'valkey.sock'}"
        assert stat.S_IMODE(state_path(settings).stat().st_mode) == 0o600
        assert _client(url).ping() is True
        assert "--appendonly" in broker.argv() and "yes" in broker.argv()
        info = describe_broker(settings)
        assert info["kind"] == "embedded" and info["reachable"] and info["ok"] and info["url"] == url
        with pytest.raises(BrokerError, match="already runs"):
            EmbeddedBroker(settings).start()
    assert not state_path(settings).exists() and not (settings.run_dir / "valkey.sock").exists()
    with pytest.raises(BrokerUnavailable, match="LIVESLICE_BROKER_URL"):
        resolve_broker_url(settings)


def test_queued_messages_survive_a_restart(settings: Settings) -> None:
    with EmbeddedBroker(settings):
        create_celery(settings).send_task("liveslice.probe_recording", args=["r1"], queue="analysis")
        assert _client(resolve_broker_url(settings)).llen("analysis") == 1
    with EmbeddedBroker(settings):
        assert _client(resolve_broker_url(settings)).llen("analysis") == 1  # replayed from the AOF
    assert any((settings.run_dir / "valkey").rglob("*.aof"))


def test_supervisor_restarts_a_killed_server(settings: Settings) -> None:
    with EmbeddedBroker(settings) as broker:
        first = broker.pid
        assert first is not None
        broker.kill_server()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (broker.pid != first and broker.is_running()):
            time.sleep(0.1)
        assert broker.pid != first and broker.is_running()
        assert _client(resolve_broker_url(settings)).ping() is True
        state = read_state(settings)
        assert state is not None and state["valkey_pid"] == broker.pid


def test_tcp_fallback_requires_a_password(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with EmbeddedBroker(settings, unix_socket=False) as broker:
        url = resolve_broker_url(settings)
        assert url.startswith("redis://:") and "@127.0.0.1:" in url
        assert _client(url).ping() is True
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as anonymous:
            anonymous.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert anonymous.recv(64).startswith(b"-NOAUTH")
        masked = describe_broker(settings)["url"]
        assert "***" in masked and broker._password and broker._password not in masked


def test_a_long_run_dir_falls_back_to_tcp(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / ("x" * 90))
    assert EmbeddedBroker(settings).socket_path is None


def test_a_stale_state_file_means_not_running(settings: Settings) -> None:
    state_path(settings).write_text(json.dumps({"url": "redis+socket:///nowhere", "pid": 2**22 + 12345}))
    assert read_state(settings) is None
    with pytest.raises(BrokerUnavailable):
        resolve_broker_url(settings)
    info = describe_broker(settings)
    assert info["ok"] and not info["reachable"] and "liveslice serve" in info["note"]


def test_broker_modes(tmp_path: Path) -> None:
    sqla = make_settings(tmp_path, broker_url="sqla")
    assert broker_mode(sqla) == ("sqla", "")
    assert resolve_broker_url(sqla) == sqla_broker_url(sqla) == f"sqla+sqlite:///{sqla.run_dir / 'broker.sqlite'}"
    info = describe_broker(sqla)
    assert info["kind"] == "sqla" and info["reachable"] and "no acks_late" in info["note"]
    given = make_settings(tmp_path, broker_url="redis://:s3cret@127.0.0.1:1/0")
    assert broker_mode(given) == ("url", "")
    info = describe_broker(given)
    assert info["kind"] == "redis" and not info["reachable"] and not info["ok"]
    assert info["url"] == "redis://:***@127.0.0.1:1/0" and "s3cret" not in info["note"]


def test_mask_url() -> None:
    assert mask_url("amqp://guest:pw@host:5672//") == "amqp://guest:***@host:5672//"
    assert mask_url("redis+socket:///run/v.sock") == "redis+socket:///run/v.sock"


def test_the_state_file_is_written_atomically(settings: Settings) -> None:
    with EmbeddedBroker(settings):
        leftovers = [p for p in settings.run_dir.iterdir() if p.name.endswith(".part")]
        assert leftovers == []
        assert json.loads(state_path(settings).read_text())["pid"] == os.getpid()
