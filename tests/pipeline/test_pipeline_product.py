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
from services.sidedata_import import import_side_data
from store.db import get_sessionmaker, session_scope
from store.models import Job
from tests.pipeline.conftest import small_options
from tests.services.clips.clip_media import make_source, store_recording

SELLING = (5.0, 7.0)  # LS-0002 is on air 4-8 s in both recordings (tests.services.clips.clip_media.TIMELINE)
CHAT = "ts,user,text,kind\n" + "".join(f"{5 + i * 0.1:.1f},u{i},上链接,comment\n" for i in range(15))
ORDERS = "ts,sku,qty,amount,order_id\n" + "".join(f"{5 + i * 0.1:.1f},LS-0002,1,59.90,O{i}\n" for i in range(15))


@pytest.fixture(scope="module")
def recording_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two different recordings: in ``hot`` the crowd gets loud while LS-0002 sells; in ``cold`` during LS-0001."""
    root = tmp_path_factory.mktemp("product-sources")
    return {
        "cold": make_source(root / "cold.mp4", video="testsrc", loud=(1.0, 3.0)),
        "hot": make_source(root / "hot.mp4", video="testsrc2", loud=SELLING),
    }


@pytest.fixture
def two_recordings(settings: Settings, recording_files: dict[str, Path], small_presets: None) -> dict[str, str]:
    """Both stored with the same catalog, timeline, transcript, chat and orders; the cold one first (older)."""
    ids: dict[str, str] = {}
    for name in ("cold", "hot"):
        rec_id = store_recording(settings, recording_files[name])
        session = get_sessionmaker(settings.database_url)()
        try:
            for kind, text in (("chat", CHAT), ("orders", ORDERS)):
                import_side_data(
                    settings, session, kind=kind, data=text.encode(), filename=f"{kind}.csv", recording_id=rec_id
                )
        finally:
            session.close()
        ids[name] = rec_id
    assert ids["cold"] != ids["hot"]
    return ids


def test_the_skus_recordings_are_found_by_timeline_orders_and_transcript(
    settings: Settings, two_recordings: dict[str, str]
) -> None:
    assert recordings_with_sku(settings, "LS-0002") == [two_recordings["cold"], two_recordings["hot"]]  # oldest first
    with pytest.raises(AnalyzeFailure, match="not in the product catalog"):
        recordings_with_sku(settings, "NOPE")


def test_a_product_job_clips_the_skus_best_moments_across_recordings(
    settings: Settings, two_recordings: dict[str, str]
) -> None:
    options = small_options(clips=2, leaders=[], sku="LS-0002")
    with session_scope(settings.database_url) as session:
        job, _created = create_pipeline(session, kind="product", recording_id=None, options=options)
        job_id = job.id
    assert run_pipeline(settings, job_id) == "succeeded"
    manifest = pipeline_manifest(settings, job_id)
    assert manifest["sku"] == "LS-0002" and manifest["recording"] is None
    clips = manifest["clips"]
    assert all(c["sku"] == "LS-0002" and c["status"] == "ready" for c in clips)
    # same side data, different sound: the moment where the crowd is loud too ranks first, although its
    # recording was searched second
    assert [c["recording_id"] for c in clips] == [two_recordings["hot"], two_recordings["cold"]]
    hot, cold = clips
    assert hot["score"] > cold["score"]
    assert hot["start"] <= SELLING[0] and hot["end"] >= SELLING[1] - 1.0
    assert hot["contributions"].get("loudness", 0) > 0.05 > cold["contributions"].get("loudness", 0)
    assert all(c["reasons"] for c in clips)
    with session_scope(settings.database_url) as session:
        find = session.query(Job).filter_by(parent_id=job_id, key="find").one()
        assert find.result is not None and find.result["recordings"] == [two_recordings["cold"], two_recordings["hot"]]
