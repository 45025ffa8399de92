"""``pipeline.lifecycle.run_job``: one claim, heartbeat, cancel and error classification for every job body."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pipeline.errors import AnalyzeFailure, JobCancelled
from pipeline.lifecycle import Done, JobContext, classify, run_job
from runtime.config import Settings
from services.clips import ClipCancelled
from services.storage.base import EndpointUnreachable
from store.db import session_scope
from store.models import Job, Recording
from store.recordings import MissingMedia
from studio.errors import ProbeError
from studio.signals import AnalysisError
from tests.workers.conftest import add_probe_job, job_row, recording_row


@pytest.fixture
def job_id(settings: Settings) -> str:
    return add_probe_job(settings, None)[1]


def test_success_runs_finish_in_the_same_transaction_and_reports_done(settings: Settings, job_id: str) -> None:
    seen: list[tuple[str, float]] = []

    def body(ctx: JobContext) -> Done:
        ctx.report("work", 0.5)
        assert job_row(settings, job_id).status == "running" and ctx.job.attempt == 1

        def finish(session: Session) -> dict[str, Any]:
            recording = session.get(Recording, ctx.job.recording_id)
            assert recording is not None
            recording.title = "renamed with the job"
            return {"extra": 1}

        return Done({"n": 2}, finish)

    outcome = run_job(settings, job_id, body, on_progress=lambda stage, f: seen.append((stage, f)))

    assert outcome.status == "succeeded" and outcome.result == {"n": 2, "extra": 1}
    job = job_row(settings, job_id)
    assert job.status == "succeeded" and job.result == {"n": 2, "extra": 1} and job.progress == 1.0
    assert recording_row(settings, str(job.recording_id)).title == "renamed with the job"
    assert seen[-1] == ("done", 1.0) and ("work", 0.5) in seen
    assert run_job(settings, job_id, body).status == "skipped"  # a redelivery does nothing


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProbeError("not a media file", code="not_media"), "not_media"),
        (AnalysisError("bad weights"), "bad_parameters"),
        (MissingMedia("gone"), "missing_media"),
        (AnalyzeFailure("no SKU", code="unknown_sku"), "unknown_sku"),
        (SoftTimeLimitExceeded(), "timeout"),
    ],
)
def test_permanent_errors_fail_at_once_with_a_code(
    settings: Settings, job_id: str, error: Exception, code: str
) -> None:
    failed_in_hook: list[str] = []

    def body(ctx: JobContext) -> dict[str, Any]:
        raise error

    outcome = run_job(settings, job_id, body, on_failure=lambda session, job, message: failed_in_hook.append(message))

    job = job_row(settings, job_id)
    assert outcome.status == "failed" and outcome.code == code
    assert job.status == "failed" and job.result == {"code": code} and job.attempts == 1
    assert failed_in_hook == [job.error]


@pytest.mark.parametrize(
    "error", [OperationalError("SELECT 1", {}, Exception("db down")), EndpointUnreachable("s3 down"), TimeoutError()]
)
def test_transient_errors_propagate_and_leave_the_job_to_the_retry(
    settings: Settings, job_id: str, error: Exception
) -> None:
    def body(ctx: JobContext) -> dict[str, Any]:
        raise error

    with pytest.raises(type(error)):
        run_job(settings, job_id, body)
    assert job_row(settings, job_id).status == "running"  # the task's on_retry requeues it


def test_a_bug_is_recorded_as_internal_and_re_raised(settings: Settings, job_id: str) -> None:
    def body(ctx: JobContext) -> dict[str, Any]:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        run_job(settings, job_id, body)
    job = job_row(settings, job_id)
    assert job.status == "failed" and job.result == {"code": "internal"} and "KeyError" in (job.error or "")


def test_cancel_request_stops_the_body_and_cancels_the_job(settings: Settings, job_id: str) -> None:
    def body(ctx: JobContext) -> dict[str, Any]:
        with session_scope(settings.database_url) as session:
            session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
        ctx.report("next stage", 0.5)  # the reporter beats, sees the request and raises
        raise AssertionError("not reached")

    outcome = run_job(settings, job_id, body)

    assert outcome.status == "cancelled" and job_row(settings, job_id).status == "cancelled"


def test_clip_cancellation_is_job_cancellation() -> None:
    assert issubclass(JobCancelled, ClipCancelled)
    failure = classify(ClipCancelled("the render was cancelled"))
    assert failure is not None and failure.status == "cancelled"
    assert classify(OperationalError("x", {}, Exception("y"))) is None
