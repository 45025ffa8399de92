"""The forms that start processing jobs: "Make clips" on a recording, product clips, and their errors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

import pipeline.advance
from pipeline import plan
from runtime.config import Settings

if TYPE_CHECKING:
    pass

from tests.api.pages.job_pages_support import SKU, AddRecording, Login, add_product, children, jobs_where, page_text


def test_make_clips_form_starts_a_processing_job(login: Login, add_recording: AddRecording, settings: Settings) -> None:
    rec_id = add_recording()
    client = login("content")
    page = client.get(f"/recordings/{rec_id}").text
    assert f'action="/recordings/{rec_id}/process"' in page
    assert re.search(r'name="presets" value="douyin"[^>]* checked', page)
    assert 'name="presets" value="kuaishou"' in page and '<option value="engagement"' in page

    form = {
        "clips": "3",
        "presets": ["douyin", "kuaishou"],
        "weight_preset": "engagement",
        "min_len": "10",
        "max_len": "30",
        "mode": "accurate",
        "captions": "off",
        "leaders": "小王团长， https://shop.example.com/s/wang\n\nLily, Chen\n",
    }
    response = client.post(f"/recordings/{rec_id}/process", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    (job,) = jobs_where(settings, kind=plan.PROCESS)
    assert response.headers["location"] == f"/jobs/{job.id}"
    assert job.recording_id == rec_id and job.parent_id is None and job.status == "queued"
    analysis, render = job.options["analysis"], job.options["render"]
    assert [analysis[k] for k in ("clips", "preset", "min_len", "max_len")] == [3, "engagement", 10, 30]
    assert render["presets"] == ["douyin", "kuaishou"] and render["captions"] is False
    assert [(p["name"], p["share_url"]) for p in render["leaders"]] == [
        ("小王团长", "https://shop.example.com/s/wang"),
        ("Lily, Chen", None),
    ]
    probe = children(settings, job.id)["probe"]  # driven: the first stage exists...
    assert probe.status == "queued" and probe.enqueued_at is None  # ...unsent: no broker runs here (reconciler's)

    again = client.post(f"/recordings/{rec_id}/process", data=form, follow_redirects=False)
    assert again.headers["location"] == f"/jobs/{job.id}" and len(jobs_where(settings, kind=plan.PROCESS)) == 1
    page = client.get(f"/recordings/{rec_id}").text
    assert f'<tr data-job="{job.id}">' in page and "badge-queued" in page
    assert client.get(response.headers["location"]).status_code == 200


def test_a_dispatch_failure_does_not_fail_the_form(
    login: Login, add_recording: AddRecording, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> list[str]:
        raise ConnectionError("broker down")

    monkeypatch.setattr(pipeline.advance, "drive", broken)
    rec_id = add_recording()
    client = login("merchant")
    response = client.post(f"/recordings/{rec_id}/process", data={"presets": ["douyin"]}, follow_redirects=False)
    assert response.status_code == 303
    (job,) = jobs_where(settings, kind=plan.PROCESS)
    assert job.status == "queued" and children(settings, job.id) == {}  # committed; the reconciler drives it


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"clips": "3"}, "Tick at least one platform"),
        ({"clips": "three", "presets": ["douyin"]}, "Clips:"),
        ({"presets": ["douyin"], "min_len": "50", "max_len": "20"}, "min_len"),
        ({"presets": ["douyin"], "leaders": "Lily, ftp://files.example.com/x"}, "share_url"),
        ({"presets": ["douyin"], "leaders": ", https://a.example.com"}, "line 1"),
        ({"presets": ["douyin"], "leaders": "Lily", "mode": "fast"}, "fast mode"),
    ],
)
def test_a_bad_form_is_shown_again_with_the_reason(
    login: Login, add_recording: AddRecording, settings: Settings, form: dict[str, Any], message: str
) -> None:
    rec_id = add_recording()
    client = login("content")
    response = client.post(f"/recordings/{rec_id}/process", data={**form, "weight_preset": "audio-only"})
    assert response.status_code == 422
    assert message in page_text(response.text)
    assert '<option value="audio-only" selected>' in response.text  # what was typed is kept
    assert jobs_where(settings, kind=plan.PROCESS) == []


def test_a_failed_recording_cannot_be_clipped(login: Login, add_recording: AddRecording, settings: Settings) -> None:
    rec_id = add_recording(status="failed", error="moov atom not found")
    client = login("content")
    response = client.post(f"/recordings/{rec_id}/process", data={"presets": ["douyin"]})
    assert response.status_code == 409 and "failed its probe" in response.text
    assert client.post("/recordings/nope/process", data={"presets": ["douyin"]}).status_code == 404
    assert jobs_where(settings, kind=plan.PROCESS) == []


def test_product_form_starts_a_product_job(login: Login, settings: Settings) -> None:
    add_product(settings)
    add_product(settings, "LS-0002", "防晒喷雾 Sun Spray")
    client = login("merchant")
    page = client.get("/products")
    assert page.status_code == 200
    assert "保湿面霜 Hydrating Cream" in page.text and "¥89" in page.text
    assert f'action="/products/{SKU}/clips"' in page.text and 'action="/products/LS-0002/clips"' in page.text
    assert 'id="p1-clips" name="clips" type="number"' in page.text
    assert "LS-0002" not in client.get("/products?q=cream").text

    response = client.post(
        f"/products/{SKU}/clips", data={"clips": "4", "presets": ["douyin", "tiktok"]}, follow_redirects=False
    )
    assert response.status_code == 303
    (job,) = jobs_where(settings, kind=plan.PRODUCT)
    assert response.headers["location"] == f"/jobs/{job.id}"
    assert job.recording_id is None and job.options["sku"] == SKU and job.options["analysis"]["clips"] == 4
    assert job.options["render"]["presets"] == ["douyin", "tiktok"]
    assert children(settings, job.id)["find"].kind == "find_product"
    assert f'<tr data-job="{job.id}">' in client.get("/products").text  # recent product jobs
    assert f"Clips of {SKU}" in client.get(f"/jobs/{job.id}").text

    bad = client.post(f"/products/{SKU}/clips", data={"clips": "4"})
    assert bad.status_code == 422 and "Tick at least one platform" in bad.text and " open>" in bad.text
    assert client.post("/products/NOPE/clips", data={"presets": ["douyin"]}).status_code == 404
    assert len(jobs_where(settings, kind=plan.PRODUCT)) == 1


# --- who may ------------------------------------------------------------------------------
