"""A processing job on S3 storage: the API machine ingests, a worker machine (another media root, the
same database and bucket) runs every stage, and the API serves the results from the bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from pipeline.advance import advance, create_pipeline
from pipeline.local import run_one
from pipeline.manifest import pipeline_manifest
from runtime.config import Settings
from services.ingest import ingest_file
from services.sidedata_import import import_side_data
from store import keys as key_store
from store.db import get_sessionmaker, session_scope
from store.models import Job
from tests.pipeline.conftest import small_options
from tests.services.clips.clip_media import CATALOG, SMALL, TIMELINE, TRANSCRIPT, make_source, register_presets
from tests.services.storage.test_storage_app import objects, other_machine


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("s3-pipeline") / "live.mp4")


def test_a_job_runs_on_a_worker_that_shares_only_the_bucket(
    s3_settings: Settings, s3_client: Any, bucket: str, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_presets(monkeypatch)
    api = s3_settings
    session = get_sessionmaker(api.database_url)()
    try:
        rec = ingest_file(api, session, source, filename="live.mp4", origin="upload", move=False)
        for kind, name, text in (
            ("catalog", "c.csv", CATALOG),
            ("timeline", "t.csv", TIMELINE),
            ("transcript", "t.srt", TRANSCRIPT),
        ):
            import_side_data(
                api,
                session,
                kind=kind,
                data=text.encode(),
                filename=name,
                recording_id=None if kind == "catalog" else rec.recording.id,
            )
    finally:
        session.close()
    with session_scope(api.database_url) as db:
        job, _ = create_pipeline(
            db, kind="process", recording_id=rec.recording.id, options=small_options(presets=[SMALL.name], clips=1)
        )
        job_id = job.id
    analysis = other_machine(api, tmp_path / "analysis")
    renderers = [other_machine(api, tmp_path / f"render-{n}") for n in range(3)]
    turn = 0
    while True:  # each stage on another machine, as the analysis and render queues' workers would take them
        ready = advance(api, job_id)
        if not ready:
            break
        for child in ready:
            with session_scope(api.database_url) as db:
                row = db.get(Job, child)
                assert row is not None
                kind, recording_id = row.kind, row.recording_id
            machine = renderers[turn % 3] if kind.startswith("clip_") else analysis
            turn += kind.startswith("clip_")
            run_one(machine, child, kind, recording_id)
    assert manifest_status(api, job_id) == "succeeded"

    stored = objects(s3_client, bucket)
    manifest = pipeline_manifest(api, job_id)
    clip = manifest["clips"][0]
    names = {"clip.mp4", "cover.jpg", "poster.png", "clip.wang.mp4", "clip.lily.mp4", "poster.wang.png"}
    assert {f"clips/{clip['clip_id']}/{n}" for n in names} <= set(stored)
    assert f"exports/{job_id}/manifest.json" in stored
    assert not (api.media_root / "clips").exists()  # the API machine never rendered anything

    with session_scope(api.database_url) as db:
        key = key_store.create_key(db, name="t", role="merchant").secret
    client = TestClient(create_app(api))
    path = clip["files"]["video"].removeprefix(api.public_base_url)
    answer = client.get(path, headers={"X-API-Key": key}, follow_redirects=False)
    assert answer.status_code == 307
    import httpx

    assert httpx.get(answer.headers["location"]).content == stored[f"clips/{clip['clip_id']}/clip.mp4"]


def manifest_status(settings: Settings, job_id: str) -> str:
    with session_scope(settings.database_url) as db:
        job = db.get(Job, job_id)
        assert job is not None
        return job.status
