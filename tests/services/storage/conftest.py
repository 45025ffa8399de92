"""A real S3-compatible server for storage tests: moto's standalone server on a loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.config import Settings
from tests.conftest import make_settings, require_or_skip

ACCESS_KEY = "AKIDLIVESLICETEST"
SECRET_KEY = "liveslice-test-secret-do-not-leak"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_command(port: int) -> list[str]:
    binary = Path(sys.executable).parent / "moto_server"
    if binary.exists():
        return [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server started for this test session (a real HTTP server process)."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require_or_skip("moto[server] is not installed (a dev dependency)")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_server_command(port), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not answer on {url}: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials through the standard AWS environment variables, isolated from any developer config."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_client(moto_endpoint: str, aws_env: None) -> Any:
    """A plain boto3 client on the server, to look at what the store really wrote."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3_client: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"liveslice-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_s3(moto_endpoint: str, aws_env: None, tmp_path: Path) -> Callable[..., Any]:
    """Build an ``S3Storage`` on the moto server: ``make_s3(bucket, machine="a", **options)``.

    Each ``machine`` name gets its own local cache root, as two hosts sharing one bucket would.
    """
    from services.storage.s3 import S3Storage

    def make(bucket: str, machine: str = "a", **options: Any) -> S3Storage:
        options.setdefault("endpoint_url", moto_endpoint)
        options.setdefault("region", "us-east-1")
        return S3Storage(bucket, cache_root=tmp_path / f"machine-{machine}" / "cache" / "s3", **options)

    return make


def count_calls(storage: Any, operation: str) -> list[str]:
    """Record each completed call of an S3 operation (e.g. ``GetObject``) made by ``storage``'s client."""
    calls: list[str] = []

    def record(**_: Any) -> None:
        calls.append(operation)

    storage.client.meta.events.register(f"after-call.s3.{operation}", record)
    return calls


class DownstreamCut:
    """A loopback TCP proxy to ``127.0.0.1:target_port`` that drops the first ``cuts`` connections
    once ``cut_after`` bytes have gone back to the client: a download that dies mid-body."""

    def __init__(self, target_port: int, *, cut_after: int, cuts: int = 1) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.cut_events = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DownstreamCut:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                budget = self.cut_after if self.cuts_left > 0 else None
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, budget), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        sent = 0
        with contextlib.suppress(OSError):  # the other side closed: close both below
            while data := source.recv(65536):
                if budget is not None and sent + len(data) > budget:
                    with self._lock:
                        cut = self.cuts_left > 0
                        if cut:
                            self.cuts_left -= 1
                            self.cut_events += 1
                    if cut:
                        sink.sendall(data[: budget - sent])
                        break
                    budget = None
                sink.sendall(data)
                sent += len(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def s3_settings(moto_endpoint: str, aws_env: None, bucket: str, tmp_path: Path) -> Settings:
    """The API machine's settings: its own media root, the shared bucket."""
    return make_settings(
        tmp_path / "api", storage="s3", s3_bucket=bucket, s3_endpoint_url=moto_endpoint, s3_region="us-east-1"
    )
