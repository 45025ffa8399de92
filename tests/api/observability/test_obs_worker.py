"""A real worker process on the embedded broker: JSON logs with the job's ids, task durations in /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.metrics import MULTIPROC_ENV
from liveslice.serve import start_worker
from runtime.broker import EmbeddedBroker
from tests.api.observability.conftest import sample, scrape
from tests.conftest import make_settings
from tests.workers.conftest import add_probe_job, wait_for_job
from workers.app import _celery_for
from workers.dispatch import enqueue_job


@pytest.mark.slow
def test_worker_logs_ids_and_records_task_durations(
    tmp_path: Path, small_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, log_format="json")
    prom_dir = settings.run_dir / "prometheus"
    prom_dir.mkdir()
    monkeypatch.setenv(MULTIPROC_ENV, str(prom_dir))  # the worker inherits it, as under `liveslice serve`
    _celery_for.cache_clear()
    broker = EmbeddedBroker(settings)
    broker.start()
    log_path = tmp_path / "worker.log"
    try:
        recording_id, job_id = add_probe_job(settings, small_mp4)
        assert enqueue_job(settings, job_id)
        with log_path.open("wb") as log_file:
            worker = start_worker(settings, concurrency=1, stdout=log_file)
            worker.stop_timeout = 20.0
            try:
                assert wait_for_job(settings, job_id, log=log_path).status == "succeeded"
                text = scrape(settings)
            finally:
                worker.stop()
    finally:
        broker.stop()
        _celery_for.cache_clear()

    labels = {"task": "liveslice.probe_recording", "outcome": "success"}
    assert sample(text, "liveslice_task_duration_seconds_count", **labels) == 1
    assert (sample(text, "liveslice_task_duration_seconds_sum", **labels) or 0) > 0
    assert sample(text, "liveslice_jobs", kind="probe", status="succeeded") == 1
    assert sample(text, "liveslice_broker_up") == 1 and sample(text, "liveslice_queue_depth", queue="analysis") == 0

    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith('{"ts"')]
    in_job = [e for e in entries if e.get("job_id") == job_id]
    assert any("probed" in e["message"] for e in in_job), entries[-10:]
    for entry in in_job:
        assert entry["recording_id"] == recording_id and entry["task_name"] == "liveslice.probe_recording"
        assert entry["task_id"]
