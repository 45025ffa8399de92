"""``serve`` and ``run_worker`` as real processes, and the process supervisor they use."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from liveslice.serve import (
    PROJECT_ROOT,
    RuntimeSetupError,
    SupervisedProcess,
    child_env,
    run_worker,
    settings_env,
    worker_argv,
)
from runtime.broker import EmbeddedBroker, read_state, state_path
from runtime.config import Settings
from store.models import utcnow
from tests.conftest import make_settings
from tests.workers.conftest import add_probe_job, recording_row, wait_for_job
from workers.app import celery_config
from workers.dispatch import enqueue_job


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.fixture
def python_process(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], Path]]]:
    """Processes started by a test; killed (with their session) if the test did not stop them."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    yield procs
    for proc, _ in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _spawn(
    code: str, settings: Settings, log: Path, procs: list[tuple[subprocess.Popen[bytes], Path]]
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=child_env(settings),
        cwd=PROJECT_ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    procs.append((proc, log))
    return proc


def test_serve_runs_api_broker_worker_and_reconciler(
    tmp_path: Path, small_mp4: Path, python_process: list[tuple[subprocess.Popen[bytes], Path]]
) -> None:
    settings = make_settings(tmp_path)
    port = _free_port()
    log = tmp_path / "serve.log"
    code = (
        "from runtime.config import get_settings\nfrom liveslice.serve import serve\n"
        f"serve(get_settings(), host='127.0.0.1', port={port}, reconcile_every=0.5)\n"
    )
    proc = _spawn(code, settings, log, python_process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)
    else:
        pytest.fail("serve did not answer HTTP within 60 s\n" + log.read_text()[-3000:])

    state = read_state(settings)
    assert state is not None and state["pid"] == proc.pid
    _, job = add_probe_job(settings, small_mp4)
    assert enqueue_job(settings, job)
    assert wait_for_job(settings, job, log=log).status == "succeeded"
    late_rec, late_job = add_probe_job(settings, small_mp4, created_at=utcnow() - timedelta(minutes=1))
    assert wait_for_job(settings, late_job, log=log).status == "succeeded"  # sent by serve's reconciler
    assert recording_row(settings, late_rec).status == "ready"

    children = _children(proc.pid)
    assert len(children) == 3  # valkey-server, the celery worker and the click drainer
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert not state_path(settings).exists()
    assert not any(_alive(pid) for pid in children)
    assert "Warm shutdown" in log.read_text()


def test_run_worker_with_beat_sends_and_runs_unsent_jobs(
    tmp_path: Path, small_mp4: Path, python_process: list[tuple[subprocess.Popen[bytes], Path]]
) -> None:
    settings = make_settings(tmp_path)
    log = tmp_path / "worker.log"
    with EmbeddedBroker(settings):
        code = (
            "import sys\nfrom runtime.config import get_settings\nfrom liveslice.serve import run_worker\n"
            "sys.exit(run_worker(get_settings(), queues=['analysis'], concurrency=1, beat=True, reconcile_every=0.5))\n"
        )
        proc = _spawn(code, settings, log, python_process)
        _, job = add_probe_job(settings, small_mp4, created_at=utcnow() - timedelta(minutes=1))
        assert wait_for_job(settings, job, log=log).status == "succeeded"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]


def test_run_worker_needs_a_running_embedded_broker(settings: Settings) -> None:
    with pytest.raises(RuntimeSetupError, match="start `liveslice serve` or set LIVESLICE_BROKER_URL"):
        run_worker(settings, concurrency=1)


def test_supervisor_restarts_then_gives_up(tmp_path: Path) -> None:
    sleeper = SupervisedProcess("sleeper", lambda: SupervisedProcess.spawn(["sleep", "30"]), poll_interval=0.05)
    sleeper.start()
    try:
        first = sleeper.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while sleeper.pid == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sleeper.pid != first and sleeper.alive() and sleeper.restarts == 1
    finally:
        assert sleeper.stop() == -signal.SIGTERM

    gave_up = threading.Event()
    crasher = SupervisedProcess(
        "crasher",
        lambda: SupervisedProcess.spawn(["sh", "-c", "exit 3"]),
        poll_interval=0.05,
        max_restarts=2,
        on_give_up=gave_up.set,
    )
    crasher.start()
    assert gave_up.wait(10) and crasher.restarts == 2 and not crasher.alive()
    crasher.stop()


def test_worker_command_line_and_environment(tmp_path: Path) -> None:
    argv = worker_argv(queues=["analysis", "render"], concurrency=3)
    assert argv[1:6] == ["-m", "celery", "-A", "workers.app", "worker"]
    assert argv[argv.index("-Q") + 1] == "analysis,render" and argv[argv.index("--concurrency") + 1] == "3"
    assert argv[argv.index("--prefetch-multiplier") + 1] == "1"
    other = worker_argv(queues=["analysis", "render"], concurrency=3)
    assert argv[argv.index("-n") + 1] != other[other.index("-n") + 1]  # two workers of one process: two nodes
    with pytest.raises(RuntimeSetupError, match="unknown queues"):
        worker_argv(queues=["nope"])

    settings = make_settings(tmp_path, import_roots=[tmp_path, tmp_path / "b"], worker_concurrency=3)
    env = settings_env(settings)
    assert env["LIVESLICE_MEDIA_ROOT"] == str(settings.media_root)
    assert env["LIVESLICE_IMPORT_ROOTS"] == f"{tmp_path},{tmp_path / 'b'}"
    again = Settings(_env_file=None, **{k.removeprefix("LIVESLICE_").lower(): v for k, v in env.items()})  # type: ignore[call-arg,arg-type]
    assert again == settings
    assert str(PROJECT_ROOT) in child_env(settings)["PYTHONPATH"].split(os.pathsep)


def test_celery_config_is_safe_for_idempotent_long_tasks() -> None:
    config = celery_config("redis+socket:///x.sock")
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1 and config["task_ignore_result"]
    assert config["broker_transport_options"]["visibility_timeout"] == 3600
    assert [q.name for q in config["task_queues"]] == ["analysis", "render", "publish"]
    assert config["task_routes"]["liveslice.probe_recording"] == {"queue": "analysis"}
    sqla = celery_config("sqla+sqlite:////tmp/b.sqlite")
    assert sqla["broker_transport_options"] == {} and sqla["worker_enable_remote_control"] is False
