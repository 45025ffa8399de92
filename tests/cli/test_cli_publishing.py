"""``liveslice targets`` / ``publish`` / ``publications``, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_settings
from tests.support.publishing import make_clip, new_webhook_secret


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"), LIVESLICE_CHANNEL_HOSTS="127.0.0.1", COLUMNS="400")
    return subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_targets_publish_and_publications(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key="")
    secret = new_webhook_secret()
    config = f'{{"url": "http://127.0.0.1:9/hook", "secret": "{secret}"}}'
    added = _cli(tmp_path, "targets", "add", "webhook", "Shop group", "--config-json", "-", stdin=config)
    assert added.returncode == 0, added.stderr
    target_id = added.stdout.strip()
    listed = _cli(tmp_path, "targets", "list")
    assert target_id in listed.stdout and secret not in listed.stdout and secret[6:20] not in listed.stdout
    bad = _cli(tmp_path, "targets", "add", "webhook", "x", "-c", "url=ftp://nope", "-c", f"secret={secret}")
    assert bad.returncode == 2 and "https://" in bad.stderr and secret not in bad.stderr
    clip_id = make_clip(settings)
    published = _cli(tmp_path, "publish", clip_id, "--target", target_id, "--at", "2035-01-01T09:00:00")
    assert published.returncode == 0, published.stderr
    publication_id = published.stdout.strip()
    assert "scheduled, due 2035-01-01T01:00:00+00:00" in published.stderr
    assert publication_id in _cli(tmp_path, "publications", "list", "--status", "scheduled").stdout
    assert _cli(tmp_path, "publications", "cancel", publication_id).stdout.strip() == f"{publication_id} cancelled"
    assert _cli(tmp_path, "publications", "retry", publication_id).stdout.strip() == f"{publication_id} pending"
    assert _cli(tmp_path, "targets", "rotate-keys").stdout.startswith("re-encrypted the secrets of 1 target")
    assert _cli(tmp_path, "targets", "remove", target_id).returncode == 0
