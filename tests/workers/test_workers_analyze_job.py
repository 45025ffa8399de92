"""The analyze job body, in-process (no Celery), on a small generated stream and its side data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from pipeline.analysis import DEFAULT_PARAMS, analysis_params, run_analyze_job
from runtime.config import Settings
from store.db import session_scope
from store.highlights import highlight_payload, latest_analysis, list_highlights
from store.models import Job, Recording
from tests.api.highlights.highlight_media import (
    PARAMS,
    SmallStream,
    add_analyze_job,
    assert_selling_moments_found,
    ingest,
    small_stream,
)
from tests.workers.conftest import AddJob, job_row, recording_row


@pytest.fixture(scope="session")
def stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    return small_stream(tmp_path_factory)


def test_job_finds_the_selling_moments_and_reports_progress(settings: Settings, stream: SmallStream) -> None:
    rec_id = ingest(settings, stream)
    job_id = add_analyze_job(settings, rec_id)
    seen: list[tuple[str, float]] = []

    run_analyze_job(settings, job_id, on_progress=lambda stage, f: seen.append((stage, f)))

    job = job_row(settings, job_id)
    assert job.status == "succeeded" and job.stage == "done" and job.progress == 1.0 and job.attempts == 1
    assert job.result is not None and job.result["auto"] == 3 and job.result["missing"] == {}
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and seen[-1] == ("done", 1.0)
    stages = {stage for stage, _ in seen}
    assert {"load", "signal orders", "audio", "select", "save"} <= stages
    with session_scope(settings.database_url) as session:
        analysis = latest_analysis(session, recording_id=rec_id)
        assert analysis is not None and analysis.job_id == job_id and analysis.id == job.result["analysis_id"]
        assert analysis.params == {**DEFAULT_PARAMS, **PARAMS} and analysis.duration == pytest.approx(40.0, abs=0.1)
        assert "highlights" not in analysis.result and analysis.result["weights"]["orders"] > 0
        assert set(analysis.series) >= {"t", "score", "orders", "chat", "loudness"}
        rows = list_highlights(session, recording_id=rec_id)
        assert all(row.analysis_id == analysis.id for row in rows)
        assert_selling_moments_found(stream.plan, [highlight_payload(row) for row in rows])
    assert (settings.media_root / "cache" / "signals").is_dir()  # the audio features were cached

    run_analyze_job(settings, job_id)  # a redelivery of a finished job changes nothing
    assert job_row(settings, job_id).attempts == 1


def test_unprobed_recording_is_probed_first(settings: Settings, add_job: AddJob, stream: SmallStream) -> None:
    rec_id, probe_job = add_job(stream.path)  # status "probing", no duration yet, probe job queued
    assert recording_row(settings, rec_id).duration is None
    job_id = add_analyze_job(settings, rec_id, preset="audio-only", scenes=True)

    run_analyze_job(settings, job_id)

    assert job_row(settings, probe_job).status == "succeeded"
    recording = recording_row(settings, rec_id)
    assert recording.status == "ready" and recording.duration == pytest.approx(40.0, abs=0.1)
    job = job_row(settings, job_id)
    assert job.status == "succeeded", job.error
    assert job.result is not None and job.result["auto"] == 3 and job.result["missing"] == {}


def test_missing_side_data_is_listed_not_fatal(settings: Settings, stream: SmallStream) -> None:
    rec_id = ingest(settings, stream, side_data=False)
    job_id = add_analyze_job(settings, rec_id)

    run_analyze_job(settings, job_id)

    job = job_row(settings, job_id)
    assert job.status == "succeeded" and job.result is not None
    assert job.result["missing"] == {
        "orders": "no stream orders",
        "chat": "no chat log",
        "keywords": "no transcript",
        "gifts": "no chat log",
    }
    assert job.result["auto"] >= 1


def test_bad_media_fails_at_once_with_the_reason(settings: Settings, add_job: AddJob, bad_file: Path) -> None:
    rec_id, _ = add_job(bad_file)
    job_id = add_analyze_job(settings, rec_id)

    run_analyze_job(settings, job_id)

    job = job_row(settings, job_id)
    assert job.status == "failed" and job.attempts == 1
    assert job.error is not None and "could not be probed" in job.error and "not a media file" in job.error
    assert job.result == {"code": "not_probed"}


def test_missing_file_and_bad_parameters_fail_with_the_reason(settings: Settings, stream: SmallStream) -> None:
    rec_id = ingest(settings, stream)
    too_long = add_analyze_job(settings, rec_id, min_len=50.0, max_len=60.0)
    run_analyze_job(settings, too_long)
    job = job_row(settings, too_long)
    assert job.status == "failed" and job.result == {"code": "bad_parameters"}
    assert job.error is not None and "shorter than min_len" in job.error

    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, rec_id)
        assert recording is not None
        recording.storage_key = f"recordings/{rec_id}/gone.mp4"
    missing = add_analyze_job(settings, rec_id)
    run_analyze_job(settings, missing)
    job = job_row(settings, missing)
    assert job.status == "failed" and job.result == {"code": "missing_media"}
    assert job.error is not None and "gone.mp4" in job.error
    with session_scope(settings.database_url) as session:
        assert latest_analysis(session, recording_id=rec_id) is None


def test_cancel_while_running_stops_and_keeps_nothing(settings: Settings, stream: SmallStream) -> None:
    rec_id = ingest(settings, stream)
    job_id = add_analyze_job(settings, rec_id)

    def cancel_on_signals(stage: str, _fraction: float) -> None:
        if stage.startswith("signal "):
            with session_scope(settings.database_url) as session:
                session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))

    run_analyze_job(settings, job_id, on_progress=cancel_on_signals)

    assert job_row(settings, job_id).status == "cancelled"
    with session_scope(settings.database_url) as session:
        assert latest_analysis(session, recording_id=rec_id) is None
        assert list_highlights(session, recording_id=rec_id) == []


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"preset": "viral"}, "unknown preset"),
        ({"weights": {"orders": float("inf")}}, "finite number"),
        ({"weights": {"nope": 1.0}}, "unknown signal 'nope'"),
        ({"min_len": 0.0}, "0 < min_len"),
        ({"clips": 500}, "clips must be 0..200"),
    ],
)
def test_analysis_params_reject_bad_options(options: dict[str, Any], needle: str) -> None:
    from studio.highlights import AnalysisError

    with pytest.raises(AnalysisError, match=needle):
        analysis_params(**options)
