"""The processing-job pages: the live job page, the jobs list, roles and what the pages load."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.job_forms import FormError, parse_leaders
from api.routers.job_pages import fmt_eta, fmt_percent
from pipeline import plan
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow
from tests.api.pages.conftest import sign_in
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

from tests.api.pages.job_pages_support import (
    SKU,
    AddRecording,
    Login,
    add_product,
    children,
    jobs_where,
    make_pipeline,
    page_text,
)


def test_job_page_shows_stage_progress_eta_and_each_clip(
    login: Login, add_recording: AddRecording, settings: Settings
) -> None:
    rec_id = add_recording()
    job_id = make_pipeline(settings, rec_id)
    client = login("merchant")
    api = client.get(f"/api/jobs/{job_id}")  # what jobs.js polls: the login cookie is enough
    assert api.status_code == 200, api.text
    view = api.json()
    assert view["status"] == "running" and view["stage"] == "render" and 0 < view["progress"] < 1
    assert [c["status"] for c in view["clips"]] == ["ready", "active"]

    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert f'data-api="/api/jobs/{job_id}"' in html and '<script src="/static/jobs.js?v=' in html
    assert "<script>" not in html  # CSP: no inline scripts
    percent = fmt_percent(view["progress"])
    assert f'<span class="pct" data-field="percent">{percent}</span>' in html
    assert f'value="{view["progress"]}"' in html
    assert '<strong data-field="stage">render</strong>' in html
    assert fmt_eta(view["eta_seconds"]) == "about 3 min"  # 600 s for 77%
    assert '<span data-field="eta">about 3 min</span>' in html
    ready, rendering = view["clips"]
    rows = dict(re.findall(r'<tr data-clip="([^"]+)">(.*?)</tr>', html, re.S))
    assert list(rows) == [ready["clip_id"], rendering["clip_id"]]
    assert f'href="/clips?recording={rec_id}#clip-{ready["clip_id"]}"' in rows[ready["clip_id"]]
    assert "0:00:12.5–0:00:40.0" in rows[ready["clip_id"]] and SKU in rows[ready["clip_id"]]
    assert "badge-active" in rows[rendering["clip_id"]] and "render" in page_text(rows[rendering["clip_id"]])
    assert "gallery" not in rows[rendering["clip_id"]]
    cancel = re.search(r'<form method="post" action="/jobs/[^"]+/cancel"[^>]*>', html)
    retry = re.search(r'<form method="post" action="/jobs/[^"]+/retry"[^>]*>', html)
    assert cancel and " hidden" not in cancel.group(0) and f'data-api="/api/jobs/{job_id}/cancel"' in cancel.group(0)
    assert retry and " hidden" in retry.group(0)
    assert '<meta http-equiv="refresh" content="5">' in html  # inside <noscript>: live-ish without JS

    stage = children(settings, job_id)["probe"].id
    redirect = client.get(f"/jobs/{stage}", follow_redirects=False)  # a stage's id shows its pipeline
    assert redirect.status_code == 303 and redirect.headers["location"] == f"/jobs/{job_id}"
    assert client.get("/jobs/nope").status_code == 404


def test_failed_job_lists_errors_and_offers_retry(
    login: Login, add_recording: AddRecording, settings: Settings
) -> None:
    job_id = make_pipeline(settings, add_recording(), clip_states=("ready", "failed"))
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.stage, job.error, job.finished_at = "failed", "done", "1 of 2 clips failed", utcnow()
    client = login("content")
    html = client.get(f"/jobs/{job_id}").text
    assert "moov atom not found" in html and "1 of 2 clips failed" in html
    retry = re.search(r'<form method="post" action="/jobs/[^"]+/retry"[^>]*>', html)
    cancel = re.search(r'<form method="post" action="/jobs/[^"]+/cancel"[^>]*>', html)
    assert retry and " hidden" not in retry.group(0) and cancel and " hidden" in cancel.group(0)
    assert "http-equiv" not in html  # finished: nothing to refresh

    response = client.post(f"/jobs/{job_id}/retry", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/jobs/{job_id}"
    (parent,) = [j for j in jobs_where(settings, kind=plan.PROCESS) if j.id == job_id]
    assert parent.status == "running" and parent.error is None
    failed_key = next(
        k
        for k, j in children(settings, job_id).items()
        if k.startswith("render:") and j.error is None and j.status == "queued"
    )
    assert failed_key  # the failed render is queued again; what succeeded is kept
    assert sum(j.status == "succeeded" for j in children(settings, job_id).values()) == 5


def test_cancel_button_cancels_and_a_finished_job_says_why_not(
    login: Login, add_recording: AddRecording, settings: Settings
) -> None:
    rec_id = add_recording()
    client = login("merchant")
    started = client.post(
        f"/recordings/{rec_id}/process", data={"clips": "2", "presets": ["douyin"]}, follow_redirects=False
    )
    job_id = started.headers["location"].rsplit("/", 1)[1]
    assert children(settings, job_id)["probe"].status == "queued"

    response = client.post(f"/jobs/{job_id}/cancel", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/jobs/{job_id}"
    (job,) = [j for j in jobs_where(settings, kind=plan.PROCESS) if j.id == job_id]
    assert job.status == "cancelled" and job.cancel_requested
    assert children(settings, job_id)["probe"].status == "cancelled"
    html = client.get(f"/jobs/{job_id}").text
    assert 'data-field="status">cancelled<' in html

    again = client.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.text
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 409  # the script's call, cookie-authenticated


# --- lists ----------------------------------------------------------------------------------


def test_jobs_list_is_newest_first_with_status_stage_and_percent(
    login: Login, add_recording: AddRecording, settings: Settings
) -> None:
    rec_id = add_recording(title="春季新品 live")
    older = make_pipeline(settings, rec_id)
    add_product(settings)
    client = login("admin")
    client.post(f"/products/{SKU}/clips", data={"clips": "3", "presets": ["douyin"]})
    (product_job,) = jobs_where(settings, kind=plan.PRODUCT)
    html = client.get("/jobs").text
    order = re.findall(r'<tr data-job="([^"]+)">', html)
    assert order == [product_job.id, older]
    row = html[html.index(f'<tr data-job="{older}">') :].split("</tr>")[0]
    assert "badge-running" in row and ">render<" in row and "春季新品 live" in row and "%</span>" in row
    assert f"{SKU} 保湿面霜 Hydrating Cream" in html
    only = client.get("/jobs?kind=product").text
    assert re.findall(r'<tr data-job="([^"]+)">', only) == [product_job.id]
    assert 'href="/jobs" aria-current="page"' in html and 'href="/products"' in html  # nav links


# --- starting jobs from the pages -----------------------------------------------------------


def test_leaders_get_403_on_job_pages_and_forms(login: Login, add_recording: AddRecording, settings: Settings) -> None:
    rec_id = add_recording()
    job_id = make_pipeline(settings, rec_id)
    add_product(settings)
    client = login("leader")
    for path in ("/jobs", f"/jobs/{job_id}", "/products"):
        response = client.get(path)
        assert response.status_code == 403 and "Not allowed" in response.text, path
    posts = (f"/recordings/{rec_id}/process", f"/products/{SKU}/clips", f"/jobs/{job_id}/cancel")
    for path in posts:
        assert client.post(path, data={"presets": ["douyin"]}).status_code == 403, path
    assert client.get(f"/api/jobs/{job_id}").status_code == 403
    assert len(jobs_where(settings, parent_id=None)) == 1 and jobs_where(settings, id=job_id)[0].status == "running"
    gallery = client.get("/clips").text  # leaders may open the gallery, without the links they cannot use
    assert 'href="/products"' not in gallery and 'href="/jobs"' not in gallery


def test_signed_out_goes_to_login_and_cross_site_posts_are_refused(
    client: TestClient, login: Login, add_recording: AddRecording, settings: Settings
) -> None:
    response = client.get("/jobs", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/jobs"
    rec_id = add_recording()
    login("admin")
    refused = client.post(
        f"/recordings/{rec_id}/process", data={"presets": ["douyin"]}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert refused.status_code == 403 and jobs_where(settings, kind=plan.PROCESS) == []
    same = client.post(
        f"/recordings/{rec_id}/process",
        data={"presets": ["douyin"]},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303 and len(jobs_where(settings, kind=plan.PROCESS)) == 1


# --- helpers ------------------------------------------------------------------------------


def test_leader_lines_and_display_helpers() -> None:
    assert parse_leaders("Lily\n  \n小王团长，https://s.example.com/w\nA, B, https://x.example.com/a,b\n") == [
        {"name": "Lily"},
        {"name": "小王团长", "share_url": "https://s.example.com/w"},
        {"name": "A, B", "share_url": "https://x.example.com/a,b"},
    ]
    with pytest.raises(FormError, match="line 2"):
        parse_leaders("Lily\n, https://x.example.com")
    assert [fmt_percent(p) for p in (None, 0.0, 0.4299, 0.999, 1.0)] == ["0%", "0%", "42%", "99%", "100%"]
    assert [fmt_eta(s) for s in (None, 12.0, 61.0, 3600.0, 3725.0)] == [
        "—",
        "under a minute",
        "about 2 min",
        "about 1 h 00 min",
        "about 1 h 03 min",
    ]


def test_job_pages_reference_no_other_host(login: Login, add_recording: AddRecording, settings: Settings) -> None:
    job_id = make_pipeline(settings, add_recording())
    add_product(settings)
    client = login("admin")
    for path in ("/jobs", f"/jobs/{job_id}", "/products"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.text
        assert not re.search(r"https?://", html, re.IGNORECASE), path
        for attr in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert attr.startswith(("/", "#", "data:")), (path, attr)


@pytest.mark.browser
def test_job_page_follows_the_job_live_and_cancels(
    page: Page,
    live_server: LiveServer,
    make_key: Callable[[str], str],
    add_recording: AddRecording,
    settings: Settings,
) -> None:
    """jobs.js in Chromium: rows and errors update without a reload, as text; Cancel posts and the page settles."""
    job_id = make_pipeline(settings, add_recording())
    secret = make_key("merchant")
    sign_in(page, live_server.url, secret, next_page=f"/jobs/{job_id}")
    page.evaluate("() => { window.notReloaded = true; }")
    assert page.text_content('[data-field="errors-card"] ul') == ""
    evil = '<img src=x id="injected"> ffmpeg exited with 1'
    with session_scope(settings.database_url) as session:
        (render,) = [j for j in session.scalars(select(Job).filter_by(parent_id=job_id, status="running"))]
        render.status, render.error = "failed", evil
    errors = page.locator('[data-field="errors"] li')
    errors.wait_for(timeout=10_000)  # polled every 1.5 s
    assert errors.all_text_contents() == [evil]  # shown as text, never parsed as markup
    assert page.locator("#injected").count() == 0
    rows = page.locator('[data-field="clips"] tr')
    assert rows.count() == 2 and evil in (rows.nth(1).text_content() or "")
    assert page.evaluate("() => window.notReloaded") is True  # updated in place
    with live_server.client(secret) as api:
        view = api.get(f"/api/jobs/{job_id}").json()
    assert view["status"] == "running"
    assert page.text_content('[data-field="percent"]') == fmt_percent(view["progress"])  # same words as the server
    assert page.text_content('[data-field="eta"]') == fmt_eta(view["eta_seconds"])

    page.click('form[data-show="cancel"] button')
    page.wait_for_function("() => document.querySelector('[data-field=status]').textContent === 'cancelled'")
    page.wait_for_load_state("load")  # finished: the page reloads to the server's final view
    assert page.is_hidden('form[data-show="cancel"]') and page.is_visible('form[data-show="retry"]')
    (job,) = jobs_where(settings, id=job_id)
    assert job.status == "cancelled" and job.cancel_requested
