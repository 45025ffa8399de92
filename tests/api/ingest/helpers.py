"""Helpers for the ingest endpoint tests: hashes and leftover checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from runtime.config import Settings
from store.db import session_scope
from store.models import Recording, Upload

TUS = {"Tus-Resumable": "1.0.0"}


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
