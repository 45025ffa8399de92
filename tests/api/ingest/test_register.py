"""``POST /api/recordings/register``: off by default, confined to import roots, HLS playlists checked."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from runtime.config import Settings
from store.db import session_scope
from store.models import Recording
from studio.ffmpeg import run_ffmpeg
from tests.api.ingest.helpers import count_rows
from tests.support.live_server import LiveServer

REGISTER = "/api/recordings/register"


@pytest.fixture
def import_root(tmp_path: Path) -> Path:
    root = tmp_path / "nas" / "replays"
    root.mkdir(parents=True)
    return root.resolve()


@pytest.fixture
def nas(
    serve: Callable[[Settings], LiveServer], settings: Settings, keys: dict[str, str], import_root: Path
) -> httpx.Client:
    server = serve(settings.model_copy(update={"import_roots": [import_root]}))
    return server.client(keys["content"])


@pytest.fixture(scope="session")
def hls_folder(media_dir: Path) -> Path:
    """A 2 s HLS recording: index.m3u8 and its .ts segments."""
    folder = media_dir / "hls"
    if not (folder / "index.m3u8").exists():
        folder.mkdir(exist_ok=True)
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000:duration=2",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "25",
                "-c:a",
                "aac",
                "-f",
                "hls",
                "-hls_time",
                "1",
                "-hls_list_size",
                "0",
                "-hls_segment_filename",
                str(folder / "seg%03d.ts"),
                "-y",
                str(folder / "index.m3u8"),
            ]
        )
    return folder


def test_off_by_default(content: httpx.Client, small_mp4: Path) -> None:
    response = content.post(REGISTER, json={"path": str(small_mp4)})
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail["code"] == "path_not_allowed"
    assert "LIVESLICE_IMPORT_ROOTS" in detail["message"]


def test_file_inside_an_import_root_registers_without_copying(
    nas: httpx.Client, settings: Settings, import_root: Path, small_mp4: Path
) -> None:
    target = import_root / "2024-05" / "live.mp4"
    target.parent.mkdir()
    shutil.copyfile(small_mp4, target)
    response = nas.post(REGISTER, json={"path": "2024-05/live.mp4", "title": "May live"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["source"], body["title"], body["probe"]["width"]) == ("path", "May live", 320)
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, body["id"])
        assert recording is not None
        assert recording.source_path == str(target) and recording.storage_key is None
    assert not any((settings.media_root / "recordings").rglob("*.mp4"))  # registered, not copied
    absolute = nas.post(REGISTER, json={"path": str(target)})
    assert absolute.status_code == 201


def test_escapes_are_refused(
    nas: httpx.Client, settings: Settings, import_root: Path, tmp_path: Path, small_mp4: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    shutil.copyfile(small_mp4, outside / "secret.mp4")
    (import_root / "link.mp4").symlink_to(outside / "secret.mp4")
    (import_root / "linkdir").symlink_to(outside)

    dotdot = nas.post(REGISTER, json={"path": f"{import_root}/../../private/secret.mp4"})
    assert dotdot.status_code == 403 and "'..'" in dotdot.json()["detail"]["message"]
    for path in ("link.mp4", "linkdir/secret.mp4", str(outside / "secret.mp4")):
        response = nas.post(REGISTER, json={"path": path})
        assert response.status_code == 403, path
        message = response.json()["detail"]["message"]
        assert "outside the allowed import folders" in message
        assert str(import_root) not in message and "nas" not in message  # the roots are not given away
    missing = nas.post(REGISTER, json={"path": "nope.mp4"})
    assert missing.status_code == 403 and "no file" in missing.json()["detail"]["message"]
    assert count_rows(settings, Recording) == 0


@pytest.mark.parametrize(
    ("line", "words"),
    [("../secret.ts", "secret.ts"), ("http://cdn.example.com/seg0.ts", "http://cdn.example.com/seg0.ts")],
)
def test_unsafe_playlists_are_refused(
    nas: httpx.Client, settings: Settings, import_root: Path, tmp_path: Path, hls_folder: Path, line: str, words: str
) -> None:
    folder = import_root / "live"
    shutil.copytree(hls_folder, folder)
    shutil.copyfile(hls_folder / "seg000.ts", import_root / "secret.ts")
    playlist = (folder / "index.m3u8").read_text().replace("seg001.ts", line)
    (folder / "index.m3u8").write_text(playlist)
    response = nas.post(REGISTER, json={"path": "live/index.m3u8"})
    assert response.status_code in (403, 422), response.text
    detail = response.json()["detail"]
    assert detail["code"] == "unsafe_playlist"
    assert words in detail["message"]
    assert count_rows(settings, Recording) == 0


def test_hls_folder_registers(nas: httpx.Client, settings: Settings, import_root: Path, hls_folder: Path) -> None:
    shutil.copytree(hls_folder, import_root / "live")
    response = nas.post(REGISTER, json={"path": "live/index.m3u8", "timezone": "Asia/Shanghai"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["probe"]["duration"] == pytest.approx(2.0, abs=0.3)
    segments = sum(p.stat().st_size for p in (import_root / "live").glob("*.ts"))
    assert body["size_bytes"] == segments
    assert count_rows(settings, Recording) == 1


def test_bad_fields_are_422(nas: httpx.Client, import_root: Path, small_mp4: Path) -> None:
    shutil.copyfile(small_mp4, import_root / "a.mp4")
    response = nas.post(REGISTER, json={"path": "a.mp4", "timezone": "Nowhere/Land"})
    assert response.status_code == 422
    assert "Nowhere/Land" in response.json()["detail"]["message"]
    assert nas.post(REGISTER, json={}).status_code == 422
