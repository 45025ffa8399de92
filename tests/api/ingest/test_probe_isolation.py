"""Issue 9: the API process keeps no probe memory after an ingest.

The final tus PATCH probes the upload in a short-lived child process, so the API never opens the
file with PyAV (no decoder threads or frame pools left resident) and the ingest path does not even
import PyAV; the answer still carries the probe facts, and bad media is still rejected the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from tusclient import client as tus_client

from runtime.config import Settings
from studio.errors import ProbeError
from studio.probe import probe
from studio.probe_isolated import ProbeProcessError, probe_isolated
from tests.support.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[3]
ENDPOINT = "/api/uploads/tus/"


def test_the_ingest_path_imports_no_pyav() -> None:
    code = (
        "import sys\n"
        "import api.routers.tus, api.routers.uploads, services.ingest\n"
        "print(sorted(m for m in ('av', 'numpy', 'PIL') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_tus_ingest_probes_in_a_child_and_answers_with_the_facts(
    server: LiveServer, keys: dict[str, str], settings: Settings, small_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def no_pyav_here(path: object, *args: object, **kwargs: object) -> None:
        opened.append(str(path))
        raise AssertionError("the API process opened the upload with PyAV")

    monkeypatch.setattr(av, "open", no_pyav_here)  # the server runs in this process (a uvicorn thread)
    client = tus_client.TusClient(server.url + ENDPOINT, headers={"Authorization": f"Bearer {keys['content']}"})
    uploader = client.uploader(str(small_mp4), chunk_size=64 * 1024, metadata={"filename": "small.mp4"})
    uploader.upload()
    assert opened == []
    assert uploader.request is not None
    assert uploader.request.response_headers["x-recording-id"]
    details = json.loads(uploader.request.response_content)["probe_details"]
    monkeypatch.undo()
    expected = probe(small_mp4).to_dict()
    assert {k: v for k, v in details.items() if k != "path"} == {k: v for k, v in expected.items() if k != "path"}


@pytest.mark.parametrize(("fixture", "code"), [("text_file", "not_media"), ("truncated_mp4", "truncated_mp4")])
def test_the_child_raises_what_the_probe_raises(request: pytest.FixtureRequest, fixture: str, code: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    with pytest.raises(ProbeError) as here:
        probe(path)
    with pytest.raises(ProbeError) as child:
        probe_isolated(path)
    assert (child.value.code, str(child.value)) == (here.value.code, str(here.value)) == (code, str(here.value))


def test_a_child_that_gives_no_answer_is_not_blamed_on_the_file(small_mp4: Path) -> None:
    with pytest.raises(ProbeProcessError, match="took longer than"):
        probe_isolated(small_mp4, timeout=0.001)
