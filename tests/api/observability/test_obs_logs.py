"""Structured logs: JSON lines carry the bound ids; Celery's task signals bind a real task's ids."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.signals import task_postrun, task_prerun

from pipeline.probing import run_probe_job
from runtime.config import Settings
from runtime.logs import bind, configure_logging, current_context
from tests.workers.conftest import add_probe_job, job_row
from workers import app as _app  # noqa: F401  (as in a worker: `-A workers.app` connects the signal handlers)
from workers.tasks import probe_recording, render_clip_task

Logs = Callable[[], list[dict[str, Any]]]


def test_json_line_carries_bound_ids(json_logs: Logs) -> None:
    log = logging.getLogger("pipeline.rendering")
    with bind(job_id="job1", clip_id="clip7"):
        log.info("rendering %s", "base", extra={"preset": "douyin"})
    log.info("outside")
    inside, outside = json_logs()
    assert inside["message"] == "rendering base" and inside["level"] == "INFO"
    assert inside["logger"] == "pipeline.rendering" and inside["ts"].endswith("+00:00")
    assert (inside["job_id"], inside["clip_id"], inside["preset"]) == ("job1", "clip7", "douyin")
    assert "job_id" not in outside and "clip_id" not in outside


def test_nested_bind_restores_outer_ids() -> None:
    with bind(job_id="a", recording_id="r"):
        with bind(clip_id="c", job_id="b"):
            assert current_context() == {"job_id": "b", "recording_id": "r", "clip_id": "c"}
        assert current_context() == {"job_id": "a", "recording_id": "r"}
    assert current_context() == {}


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.usefixtures("restore_root")
def test_text_format_appends_ids(settings: Settings) -> None:
    stream = io.StringIO()
    configure_logging(settings, stream=stream)  # the default setting: text
    with bind(job_id="j9"):
        logging.getLogger("x").warning("slow")
    line = stream.getvalue().strip()
    assert " WARNING " in line and line.endswith("x: slow [job_id=j9]")


@pytest.mark.usefixtures("restore_root")
def test_json_setting_picks_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESLICE_LOG_FORMAT", "json")
    settings = Settings(_env_file=None, media_root=tmp_path)
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    logging.getLogger("y").info("hello")
    assert stream.getvalue().startswith('{"ts": ')


def test_job_body_logs_carry_task_ids_through_celery_signals(
    settings: Settings, json_logs: Logs, bad_media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's prerun/postrun handlers, fired for the real task, tag the probe job body's own logs."""
    monkeypatch.setenv("LIVESLICE_MEDIA_ROOT", str(settings.media_root))
    monkeypatch.setenv("LIVESLICE_DATABASE_URL", settings.database_url)
    recording_id, job_id = add_probe_job(settings, bad_media)
    task_id = uuid.uuid4().hex
    args, kwargs = [recording_id], {"job_id": job_id}  # as workers.dispatch sends it: positional recording
    task_prerun.send(sender=probe_recording, task_id=task_id, task=probe_recording, args=args, kwargs=kwargs)
    run_probe_job(settings, recording_id, job_id=job_id, task_id=task_id)
    task_postrun.send(
        sender=probe_recording, task_id=task_id, task=probe_recording, args=args, kwargs=kwargs, state="SUCCESS"
    )
    assert current_context() == {}
    assert job_row(settings, job_id).status == "failed"
    failed = [e for e in json_logs() if "probe failed" in e["message"]]
    assert failed, json_logs()
    for entry in failed:
        assert entry["job_id"] == job_id and entry["recording_id"] == recording_id
        assert entry["task_id"] == task_id and entry["task_name"] == "liveslice.probe_recording"


def test_positional_clip_id_is_bound(json_logs: Logs) -> None:
    task_id = uuid.uuid4().hex
    task_prerun.send(sender=render_clip_task, task_id=task_id, task=render_clip_task, args=["clipX", "jobY"], kwargs={})
    logging.getLogger("pipeline.rendering").info("inside")
    task_postrun.send(
        sender=render_clip_task, task_id=task_id, task=render_clip_task, args=[], kwargs={}, state="RETRY"
    )
    entry = json_logs()[-1]
    assert (entry["clip_id"], entry["job_id"], entry["task_id"]) == ("clipX", "jobY", task_id)
    assert current_context() == {}


@pytest.fixture
def bad_media(tmp_path: Path) -> Path:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n" * 50)
    return path
