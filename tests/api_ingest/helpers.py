"""Helpers for the ingest endpoint tests: a real uvicorn server in a thread, and leftover checks."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select

from api.main import create_app
from liveslice.config import Settings
from store.db import session_scope
from store.models import Recording, Upload

TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class LiveServer:
    """The app served by uvicorn on a free loopback port, in a background thread."""

    settings: Settings
    server: uvicorn.Server = field(init=False)
    thread: threading.Thread = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.settings), log_level="warning", timeout_keep_alive=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, secret: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def count_rows(settings: Settings, model: type) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def leftovers(settings: Settings) -> list[str]:
    """Every file under media/recordings and media/uploads, and every Recording/Upload row."""
    files = [
        str(p.relative_to(settings.media_root))
        for sub in ("recordings", "uploads")
        for p in (settings.media_root / sub).rglob("*")
        if p.is_file()
    ]
    rows = [f"recordings={count_rows(settings, Recording)}", f"uploads={count_rows(settings, Upload)}"]
    return [*files, *(r for r in rows if not r.endswith("=0"))]
