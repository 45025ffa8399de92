"""``GET /api/tuning/suggestion`` and ``POST /api/weight-presets`` over HTTP, and a saved preset driving the
next analysis (a real analyze job on a small generated stream, run here in-process)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from pipeline.analysis import run_analyze_job
from runtime.config import Settings
from store.db import session_scope
from store.models import Analysis, Job
from tests.api.highlights.highlight_media import PARAMS, SmallStream, small_stream
from tests.services.tuning.test_tuning import synthetic_shop

Headers = dict[str, str]


@pytest.fixture(scope="session")
def stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    return small_stream(tmp_path_factory)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def keys(issue_key: Callable[..., str]) -> dict[str, Headers]:
    roles = ("admin", "content", "merchant", "leader")
    return {role: {"Authorization": f"Bearer {issue_key(role)}"} for role in roles}


def test_suggestion_then_save_it_as_a_preset(client: TestClient, settings: Settings, keys: dict[str, Headers]) -> None:
    merchant = keys["merchant"]
    refused = client.get("/api/tuning/suggestion", params={"base": "sales"}, headers=merchant)
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "not_enough_sales" and refused.json()["detail"]["sales_count"] == 0
    with session_scope(settings.database_url) as session:
        synthetic_shop(session)
    answer = client.get("/api/tuning/suggestion", params={"base": "sales"}, headers=merchant)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sales_count"] == 30 and body["method"].startswith("Each clip made from a highlight")
    assert {row["signal"] for row in body["signals"]} == {"orders", "chat", "keywords", "gifts", "loudness"}
    suggested = body["suggested_weights"]
    assert suggested["orders"] > 0.35
    saved = client.post(
        "/api/weight-presets",
        headers=merchant,
        json={"name": "learned", "weights": suggested, "based_on_sales": body["sales_count"]},
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["weights"] == suggested and saved.json()["based_on_sales"] == 30
    again = client.post("/api/weight-presets", headers=merchant, json={"name": "learned", "weights": suggested})
    assert again.status_code == 409
    bad = client.post("/api/weight-presets", headers=merchant, json={"name": "x", "weights": {"smell": 1}})
    assert bad.status_code == 422 and "unknown signal" in bad.json()["detail"]["message"]
    listed = client.get("/api/weight-presets", headers=keys["content"]).json()["presets"]
    assert [p["name"] for p in listed] == ["learned"]


def test_roles(client: TestClient, keys: dict[str, Headers]) -> None:
    assert client.get("/api/tuning/suggestion").status_code == 401
    for role in ("content", "leader"):
        assert client.get("/api/tuning/suggestion", headers=keys[role]).status_code == 403
        body = {"name": "x", "weights": {"orders": 1}}
        assert client.post("/api/weight-presets", headers=keys[role], json=body).status_code == 403
    assert client.get("/api/weight-presets", headers=keys["leader"]).status_code == 403


def test_the_next_analysis_uses_a_saved_preset(
    client: TestClient, settings: Settings, keys: dict[str, Headers], stream: SmallStream
) -> None:
    content, merchant = keys["content"], keys["merchant"]
    with stream.path.open("rb") as fh:
        uploaded = client.post("/api/recordings", headers=content, files={"file": ("live.mp4", fh)})
    rec_id = uploaded.json()["id"]
    for kind, path in stream.side_files().items():
        url = "/api/catalog" if kind == "catalog" else f"/api/recordings/{rec_id}/{kind}"
        assert client.post(url, headers=merchant, files={"file": (path.name, path.read_bytes())}).status_code == 200
    learned = {"orders": 0.6, "chat": 0.4}
    assert (
        client.post("/api/weight-presets", headers=merchant, json={"name": "learned", "weights": learned}).status_code
        == 201
    )

    started = client.post(f"/api/recordings/{rec_id}/analyses", headers=merchant, json={**PARAMS, "preset": "learned"})
    assert started.status_code == 202, started.text
    params = started.json()["params"]
    assert params["named_preset"] == "learned" and params["preset"] == "sales"
    run_analyze_job(settings, started.json()["job_id"])
    with session_scope(settings.database_url) as session:
        job = session.get(Job, started.json()["job_id"])
        assert job is not None and job.status == "succeeded"
        analysis = session.query(Analysis).filter_by(job_id=job.id).one()
        assert analysis.result["weights"] == pytest.approx(learned)  # exactly the saved weights, nothing else
        assert analysis.params["named_preset"] == "learned"

    process = client.post(f"/api/recordings/{rec_id}/process", headers=merchant, json={"weight_preset": "learned"})
    assert process.status_code in (200, 202), process.text
    with session_scope(settings.database_url) as session:
        pipeline = session.get(Job, process.json()["id"])
        assert pipeline is not None and pipeline.options["analysis"]["named_preset"] == "learned"
    unknown = client.post(f"/api/recordings/{rec_id}/analyses", headers=merchant, json={**PARAMS, "preset": "nope"})
    assert unknown.status_code == 422 and "unknown preset" in unknown.text
