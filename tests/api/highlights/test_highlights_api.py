"""Highlights over the API: start an analysis (a real job row, run here in-process), fetch, edit, lock, re-run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from pipeline.analysis import run_analyze_job
from runtime.config import Settings
from store.db import session_scope
from store.models import Analysis, HighlightRow, Job
from tests.api.highlights.highlight_media import PARAMS, SmallStream, assert_selling_moments_found, small_stream

Headers = dict[str, str]


@pytest.fixture(scope="session")
def stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    return small_stream(tmp_path_factory)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def keys(issue_key: Callable[[str], str]) -> dict[str, Headers]:
    return {role: {"Authorization": f"Bearer {issue_key(role)}"} for role in ("content", "merchant", "leader")}


@pytest.fixture
def recording_id(client: TestClient, keys: dict[str, Headers], stream: SmallStream) -> str:
    """The small stream uploaded over the API, with its side data imported over the API."""
    with stream.path.open("rb") as fh:
        response = client.post("/api/recordings", headers=keys["content"], files={"file": ("live.mp4", fh)})
    assert response.status_code == 201, response.text
    rec_id: str = response.json()["id"]
    for kind, path in stream.side_files().items():
        url = "/api/catalog" if kind == "catalog" else f"/api/recordings/{rec_id}/{kind}"
        imported = client.post(url, headers=keys["merchant"], files={"file": (path.name, path.read_bytes())})
        assert imported.status_code == 200, imported.text
    return rec_id


def _analyse(client: TestClient, settings: Settings, headers: Headers, rec_id: str, **body: object) -> dict:
    """POST an analysis, check the queued job row, run its body here as a worker would, return the job."""
    request = {**PARAMS, **body}
    response = client.post(f"/api/recordings/{rec_id}/analyses", headers=headers, json=request)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["url"] == f"/api/jobs/{started['job_id']}" == response.headers["location"]
    queued = client.get(started["url"], headers=headers).json()
    assert (
        queued["kind"] == "analyze" and queued["status"] == "queued" and queued["options"]["clips"] == request["clips"]
    )
    run_analyze_job(settings, started["job_id"])
    job = client.get(started["url"], headers=headers).json()
    assert job["status"] == "succeeded", job
    return job


def test_analysis_end_to_end_then_edit_lock_and_rerun(
    client: TestClient, settings: Settings, keys: dict[str, Headers], recording_id: str, stream: SmallStream
) -> None:
    merchant = keys["merchant"]
    job = _analyse(client, settings, merchant, recording_id)
    assert job["progress"] == 1.0 and job["result"]["auto"] == 3 and job["result"]["missing"] == {}

    page = client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()
    analysis = page["analysis"]
    assert analysis["job_id"] == job["id"] and analysis["params"]["min_len"] == PARAMS["min_len"]
    assert set(analysis["weights"]) == {"orders", "chat", "keywords", "gifts", "loudness"}
    assert "series" not in analysis
    highlights = page["highlights"]
    assert len(highlights) == 3 and [h["start"] for h in highlights] == sorted(h["start"] for h in highlights)
    assert {h["source"] for h in highlights} == {"auto"} and not any(h["locked"] for h in highlights)
    assert sorted(h["rank"] for h in highlights) == [1, 2, 3]
    assert_selling_moments_found(stream.plan, highlights)
    with_series = client.get(f"/api/recordings/{recording_id}/highlights?series=true", headers=merchant).json()
    series = with_series["analysis"]["series"]
    assert len(series["t"]) == len(series["score"]) == len(series["orders"]) > 0

    # A merchant moves one highlight's out point: it becomes manual and locked.
    first, *_ = highlights
    moved = client.patch(f"/api/highlights/{first['id']}", headers=merchant, json={"start": first["start"] + 0.5})
    assert moved.status_code == 200, moved.text
    moved_h = moved.json()
    assert moved_h["start"] == pytest.approx(first["start"] + 0.5) and moved_h["end"] == first["end"]
    assert moved_h["locked"] and moved_h["source"] == "manual" and moved_h["snapped"] == {"start": False, "end": False}
    # ...adds one by hand (locked, manual), then clears its SKU and sets it again.
    added = client.post(
        f"/api/recordings/{recording_id}/highlights",
        headers=merchant,
        json={"start": 36.0, "end": 39.5, "sku": "LS-0002"},
    )
    assert added.status_code == 201, added.text
    manual = added.json()
    assert manual["locked"] and manual["source"] == "manual" and manual["sku"] == "LS-0002"
    cleared = client.patch(f"/api/highlights/{manual['id']}", headers=merchant, json={"sku": None}).json()
    assert cleared["sku"] is None and cleared["start"] == 36.0 and cleared["locked"]
    # ...and locks an automatic one without moving it.
    auto = next(h for h in highlights if h["id"] != first["id"])
    locked = client.patch(f"/api/highlights/{auto['id']}", headers=merchant, json={"locked": True}).json()
    assert locked["locked"] and locked["source"] == "auto" and locked["start"] == auto["start"]
    kept = {moved_h["id"]: moved_h, cleared["id"]: cleared, locked["id"]: locked}

    # Re-running keeps the locked ones exactly and replaces the rest around them.
    job2 = _analyse(client, settings, keys["content"], recording_id, clips=4)
    assert job2["result"]["locked"] == 3
    after = client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()
    assert after["analysis"]["job_id"] == job2["id"]
    by_id = {h["id"]: h for h in after["highlights"]}
    for hid, before in kept.items():
        assert by_id[hid] == before
    new_auto = [h for h in after["highlights"] if not h["locked"]]
    assert len(new_auto) == 1 and new_auto[0]["id"] not in {h["id"] for h in highlights}
    for h in new_auto:
        assert not any(h["start"] < k["end"] and k["start"] < h["end"] for k in kept.values())
    with session_scope(settings.database_url) as session:
        assert session.query(Analysis).filter_by(recording_id=recording_id).count() == 2

    # Delete: gone, and a second delete is a 404.
    gone = client.delete(f"/api/highlights/{manual['id']}", headers=merchant)
    assert gone.status_code == 204
    assert client.delete(f"/api/highlights/{manual['id']}", headers=merchant).status_code == 404
    remaining = client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()["highlights"]
    assert manual["id"] not in {h["id"] for h in remaining}


def test_a_deleted_automatic_highlight_stays_deleted_on_reanalysis(
    client: TestClient, settings: Settings, keys: dict[str, Headers], recording_id: str
) -> None:
    merchant = keys["merchant"]
    _analyse(client, settings, merchant, recording_id)
    url = f"/api/recordings/{recording_id}/highlights"
    autos = client.get(url, headers=merchant).json()["highlights"]
    assert len(autos) == 3
    dropped = autos[1]
    assert client.delete(f"/api/highlights/{dropped['id']}", headers=merchant).status_code == 204
    assert client.delete(f"/api/highlights/{dropped['id']}", headers=merchant).status_code == 404
    assert client.patch(f"/api/highlights/{dropped['id']}", headers=merchant, json={"locked": True}).status_code == 404
    assert dropped["id"] not in {h["id"] for h in client.get(url, headers=merchant).json()["highlights"]}

    job = _analyse(client, settings, keys["content"], recording_id)
    after = client.get(url, headers=merchant).json()["highlights"]
    assert job["result"]["auto"] == len(after) == 3  # the others come back, and one elsewhere fills the gap
    for h in after:
        assert not (h["start"] < dropped["end"] and dropped["start"] < h["end"]), (h, dropped)
    kept = [(h["start"], h["end"]) for h in after]
    for other in (autos[0], autos[2]):
        assert (other["start"], other["end"]) in kept
    with session_scope(settings.database_url) as session:
        tombstone = session.get(HighlightRow, dropped["id"])
        assert tombstone is not None and tombstone.dismissed


def test_manual_highlight_wins_over_overlapping_automatic_ones(
    client: TestClient, settings: Settings, keys: dict[str, Headers], recording_id: str
) -> None:
    merchant = keys["merchant"]
    _analyse(client, settings, merchant, recording_id)
    autos = client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()["highlights"]
    target = autos[1]
    added = client.post(
        f"/api/recordings/{recording_id}/highlights",
        headers=merchant,
        json={"start": target["start"] + 1.0, "end": target["end"] - 1.0},
    )
    assert added.status_code == 201
    ids = {
        h["id"] for h in client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()["highlights"]
    }
    assert target["id"] not in ids and added.json()["id"] in ids and len(ids) == len(autos)


def test_leader_gets_403_everywhere(
    client: TestClient, settings: Settings, keys: dict[str, Headers], recording_id: str
) -> None:
    _analyse(client, settings, keys["merchant"], recording_id)
    listing = client.get(f"/api/recordings/{recording_id}/highlights", headers=keys["merchant"]).json()
    hid = listing["highlights"][0]["id"]
    job_id = listing["analysis"]["job_id"]
    leader = keys["leader"]
    calls = [
        client.post(f"/api/recordings/{recording_id}/analyses", headers=leader, json={}),
        client.get(f"/api/jobs/{job_id}", headers=leader),
        client.get(f"/api/recordings/{recording_id}/highlights", headers=leader),
        client.post(f"/api/recordings/{recording_id}/highlights", headers=leader, json={"start": 1, "end": 5}),
        client.patch(f"/api/highlights/{hid}", headers=leader, json={"locked": True}),
        client.delete(f"/api/highlights/{hid}", headers=leader),
    ]
    assert [r.status_code for r in calls] == [403] * len(calls)
    assert client.get(f"/api/recordings/{recording_id}/highlights").status_code == 401
    with session_scope(settings.database_url) as session:
        assert session.query(Job).filter_by(kind="analyze").count() == 1
        row = session.get(HighlightRow, hid)
        assert row is not None and not row.locked


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"preset": "virality"}, "unknown preset 'virality'"),
        ({"weights": {"likes": 1.0}}, "unknown signal 'likes'"),
        ({"weights": {"orders": -1.0}}, "must be a finite number >= 0"),
        ({"min_len": 30.0, "max_len": 20.0}, "min_len <= max_len"),
        ({"min_len": 45.0, "max_len": 60.0}, "shorter than min_len"),
        ({"clips": -1}, "greater than or equal to 0"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_analysis_options_get_422_and_no_job(
    client: TestClient, settings: Settings, keys: dict[str, Headers], recording_id: str, body: dict, needle: str
) -> None:
    response = client.post(f"/api/recordings/{recording_id}/analyses", headers=keys["merchant"], json=body)
    assert response.status_code == 422 and needle in response.text, response.text
    with session_scope(settings.database_url) as session:
        assert session.query(Job).filter_by(kind="analyze").count() == 0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"start": 10.0, "end": 41.0}, "need 0 <= start < end <= 40"),
        ({"start": 12.0, "end": 12.0}, "need 0 <= start < end"),
        ({"start": -1.0, "end": 5.0}, "greater than or equal to 0"),
        ({"start": 1.0, "end": 5.0, "sku": "NOPE-1"}, "unknown SKU 'NOPE-1'"),
    ],
)
def test_bad_manual_highlights_get_422(
    client: TestClient, keys: dict[str, Headers], recording_id: str, body: dict, needle: str
) -> None:
    response = client.post(f"/api/recordings/{recording_id}/highlights", headers=keys["merchant"], json=body)
    assert response.status_code == 422 and needle in response.text, response.text


def test_bad_edits_get_422_and_unknown_ids_404(client: TestClient, keys: dict[str, Headers], recording_id: str) -> None:
    merchant = keys["merchant"]
    hid = client.post(
        f"/api/recordings/{recording_id}/highlights", headers=merchant, json={"start": 2.0, "end": 8.0}
    ).json()["id"]
    for body, needle in (
        ({"start": None}, "cannot be null"),
        ({"start": 9.0}, "need 0 <= start < end"),
        ({"end": 99.0}, "<= 40"),
        ({"sku": "NOPE-1"}, "unknown SKU"),
    ):
        response = client.patch(f"/api/highlights/{hid}", headers=merchant, json=body)
        assert response.status_code == 422 and needle in response.text, (body, response.text)
    unchanged = client.get(f"/api/recordings/{recording_id}/highlights", headers=merchant).json()["highlights"]
    assert [(h["start"], h["end"], h["sku"]) for h in unchanged] == [(2.0, 8.0, None)]
    assert client.patch("/api/highlights/nope", headers=merchant, json={"locked": True}).status_code == 404
    assert client.get("/api/recordings/nope/highlights", headers=merchant).status_code == 404
    assert client.post("/api/recordings/nope/analyses", headers=merchant, json={}).status_code == 404
    assert client.get("/api/jobs/nope", headers=merchant).status_code == 404


def test_never_analysed_recording_lists_no_analysis(
    client: TestClient, keys: dict[str, Headers], recording_id: str
) -> None:
    page = client.get(f"/api/recordings/{recording_id}/highlights", headers=keys["merchant"]).json()
    assert page == {
        "recording_id": recording_id,
        "duration": pytest.approx(40.0, abs=0.1),
        "analysis": None,
        "highlights": [],
    }
