"""Product clips for merchants: one SKU's best moments across recordings, as one job."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.advance import create_pipeline
from pipeline.analysis import AnalyzeFailure
from pipeline.local import run_pipeline
from pipeline.manifest import pipeline_manifest
from pipeline.product import recordings_with_sku
from runtime.config import Settings
from store.db import session_scope
from store.models import Job
from tests.pipeline.conftest import small_options


@pytest.fixture
def two_recordings(settings: Settings, recording: str, pipeline_source: Path) -> list[str]:
    from tests.clips.clip_media import store_recording

    return [recording, store_recording(settings, pipeline_source)]


def test_the_skus_recordings_are_found_by_timeline_orders_and_transcript(
    settings: Settings, two_recordings: list[str]
) -> None:
    assert sorted(recordings_with_sku(settings, "LS-0002")) == sorted(two_recordings)
    with pytest.raises(AnalyzeFailure, match="not in the product catalog"):
        recordings_with_sku(settings, "NOPE")


def test_a_product_job_clips_the_skus_best_moments_across_recordings(
    settings: Settings, two_recordings: list[str]
) -> None:
    options = small_options(clips=2, leaders=[], sku="LS-0002")
    with session_scope(settings.database_url) as session:
        job, _created = create_pipeline(session, kind="product", recording_id=None, options=options)
        job_id = job.id
    assert run_pipeline(settings, job_id) == "succeeded"
    manifest = pipeline_manifest(settings, job_id)
    assert manifest["sku"] == "LS-0002" and manifest["recording"] is None
    clips = manifest["clips"]
    assert 1 <= len(clips) <= 2 and all(c["sku"] == "LS-0002" and c["status"] == "ready" for c in clips)
    assert {c["recording_id"] for c in clips} <= set(two_recordings)
    assert [c["score"] for c in clips] == sorted((c["score"] for c in clips), reverse=True)
    assert all(c["reasons"] and c["contributions"] for c in clips)
    with session_scope(settings.database_url) as session:
        find = session.query(Job).filter_by(parent_id=job_id, key="find").one()
        assert sorted(find.result["recordings"]) == sorted(two_recordings)
