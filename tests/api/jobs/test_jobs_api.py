"""Processing jobs over the API: start (once), follow, manifest, cancel, retry; product clips; roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from pipeline.local import run_pipeline
from runtime.config import Settings
from tests.services.clips.clip_media import SMALL

Headers = dict[str, str]
BODY = {"clips": 1, "presets": [SMALL.name], "min_len": 3, "max_len": 4, "leaders": [{"name": "Lily"}]}


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def keys(issue_key: Callable[[str], str]) -> dict[str, Headers]:
    return {role: {"Authorization": f"Bearer {issue_key(role)}"} for role in ("merchant", "leader")}


def test_a_processing_job_over_the_api(
    client: TestClient, keys: dict[str, Headers], settings: Settings, recording: str
) -> None:
    started = client.post(f"/api/recordings/{recording}/process", headers=keys["merchant"], json=BODY)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["kind"] == "process" and job["status"] == "queued" and started.headers["location"] == job["url"]
    assert [s["key"] for s in job["stages"]] == ["probe"]  # no broker here: left unsent for the reconciler
    again = client.post(f"/api/recordings/{recording}/process", headers=keys["merchant"], json=BODY)
    assert again.status_code == 200 and again.json()["id"] == job["id"]  # the same work: the same job
    other = client.post(f"/api/recordings/{recording}/process", headers=keys["merchant"], json={**BODY, "clips": 2})
    assert other.status_code == 202 and other.json()["id"] != job["id"]
    assert client.post(f"/api/jobs/{other.json()['id']}/cancel", headers=keys["merchant"]).json()["status"] == (
        "cancelled"
    )
    assert run_pipeline(settings, job["id"]) == "succeeded"  # as the workers would
    done = client.get(job["url"], headers=keys["merchant"]).json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["clips"]
    assert all(c["status"] == "ready" for c in done["clips"])
    manifest = client.get(f"{job['url']}/manifest", headers=keys["merchant"]).json()
    video = manifest["clips"][0]["files"]["video"]
    assert video.startswith(settings.public_base_url + "/media/clips/")
    served = client.get(video.removeprefix(settings.public_base_url), headers=keys["merchant"])
    assert served.status_code == 200 and served.content[4:8] == b"ftyp"
    for link in manifest["clips"][0]["share_links"]:
        hop = client.get(f"/s/{link['code']}", follow_redirects=False)
        location = hop.headers["location"]
        assert hop.status_code == 302 and location.startswith(link["target_url"]) and "lsclid=" in location
    listed = client.get("/api/jobs?kind=process", headers=keys["merchant"]).json()["jobs"]
    assert {j["id"] for j in listed} == {job["id"], other.json()["id"]}
    assert client.post(f"{job['url']}/retry", headers=keys["merchant"]).status_code == 409  # nothing failed
    assert client.post(f"{job['url']}/cancel", headers=keys["merchant"]).status_code == 409  # already done


def test_bad_requests_and_roles(client: TestClient, keys: dict[str, Headers], recording: str) -> None:
    url = f"/api/recordings/{recording}/process"
    assert client.post(url, headers=keys["leader"], json=BODY).status_code == 403
    bad = client.post(url, headers=keys["merchant"], json={**BODY, "presets": ["myspace"]})
    assert bad.status_code == 422 and "myspace" in bad.text
    bad = client.post(url, headers=keys["merchant"], json={**BODY, "min_len": 9, "max_len": 3})
    assert bad.status_code == 422
    assert client.post("/api/recordings/nope/process", headers=keys["merchant"], json=BODY).status_code == 404
    assert client.post("/api/products/NOPE/clips", headers=keys["merchant"], json=BODY).status_code == 404
    product = client.post("/api/products/LS-0002/clips", headers=keys["merchant"], json=BODY)
    assert product.status_code == 202 and product.json()["kind"] == "product"
    assert product.json()["options"]["sku"] == "LS-0002"
    assert client.get("/api/jobs/nope", headers=keys["merchant"]).status_code == 404
