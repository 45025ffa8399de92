"""The recordings list, the detail page and the probing status poll."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from store import db
from store import keys as key_store
from store.models import ChatEvent, Product, Recording, SideDataImport, StreamOrder, TimelineSegment, TranscriptCue
from tests.api.pages.conftest import READY
from tests.conftest import make_settings


def test_list_shows_probe_facts(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> None:
    rec_id = add_recording()
    add_recording(
        title="phone stream",
        width=720,
        height=1280,
        rotation=90,
        fps=25.0,
        variable_frame_rate=True,
        audio_sample_rate=44100,
        audio_channels=1,
        video_codec="hevc",
        audio_codec="opus",
        size_bytes=2048,
        duration=59.6,
    )
    page = login("admin").get("/")
    assert page.status_code == 200
    html = page.text
    assert "春季新品直播 Spring launch" in html
    assert f'href="/recordings/{rec_id}"' in html
    assert "1280x720" in html
    assert "1:02:05" in html  # 3725.4 s
    assert "29.97 fps" in html
    assert "h264 / aac" in html
    assert "48 kHz · stereo" in html
    assert "117.7 MB" in html
    # the rotated, variable-frame-rate phone recording
    assert "720x1280" in html and "↻90°" in html and "1280x720 landscape" in html
    assert "25 fps" in html and "VFR" in html
    assert "44.1 kHz · mono" in html and "hevc / opus" in html and "2.0 KB" in html and "0:01:00" in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_list_is_newest_first_and_paginated(
    login: Callable[[str], TestClient], add_recording: Callable[..., str]
) -> None:
    base = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    for i in range(55):
        add_recording(title=f"rec-{i:02d}", created_at=base + timedelta(minutes=i))
    client = login("content")
    first = client.get("/recordings").text
    titles = re.findall(r">(rec-\d\d)</a>", first)
    assert len(titles) == 50
    assert titles[0] == "rec-54" and titles[-1] == "rec-05"
    assert "Page 1 of 2" in first and 'href="/recordings?page=2"' in first
    second = client.get("/recordings?page=2").text
    assert re.findall(r">(rec-\d\d)</a>", second) == ["rec-04", "rec-03", "rec-02", "rec-01", "rec-00"]
    assert "Page 2 of 2" in second
    # created time is shown in the configured zone (Asia/Shanghai, UTC+8)
    assert "2024-05-01 20:54:00" in first
    assert re.findall(r">(rec-\d\d)</a>", client.get("/recordings?page=99999999999999999999").text)[0] == "rec-04"
    assert client.get("/recordings?page=nonsense").text.count(">rec-") == 50


def test_empty_state_links_to_upload(login: Callable[[str], TestClient]) -> None:
    html = login("admin").get("/recordings").text
    assert "No recordings yet" in html
    assert 'href="/upload"' in html


def test_probing_and_failed_states(
    login: Callable[[str], TestClient], add_recording: Callable[..., str], settings: Settings
) -> None:
    probing = add_recording(title="still probing", status="probing", duration=None, width=None, height=None)
    failed = add_recording(
        title="broken upload", status="failed", error="no video or audio stream: the file is not a recording"
    )
    client = login("merchant")
    html = client.get("/recordings").text
    assert 'badge-probing" data-status="probing" data-poll="/recordings/' + probing + '/status.json"' in html
    assert "badge-failed" in html
    assert "no video or audio stream: the file is not a recording" in html
    assert '<script src="/static/app.js?v=' in html

    detail = client.get(f"/recordings/{failed}").text
    assert "Probe failed." in detail and "the file is not a recording" in detail
    assert "updates by itself" in client.get(f"/recordings/{probing}").text

    status = client.get(f"/recordings/{probing}/status.json")
    assert status.status_code == 200
    assert status.json()["status"] == "probing"
    with db.session_scope(settings.database_url) as session:
        row = session.get(Recording, probing)
        assert row is not None
        row.status, row.duration = "ready", 12.5
    assert client.get(f"/recordings/{probing}/status.json").json() == {
        "id": probing,
        "status": "ready",
        "error": None,
        "duration": 12.5,
    }
    assert "data-poll" not in client.get(f"/recordings/{probing}").text


def test_status_json_keeps_api_errors(client: TestClient, login: Callable[[str], TestClient]) -> None:
    response = client.get("/recordings/abc/status.json", follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    login("admin")
    missing = client.get("/recordings/nope/status.json")
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "not_found"


def test_detail_page_facts_and_side_data(
    login: Callable[[str], TestClient], add_recording: Callable[..., str], settings: Settings
) -> None:
    rec_id = add_recording(
        rotation=270,
        variable_frame_rate=True,
        stream_started_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        probe={"format": {"bit_rate": 1234567}},
    )
    with db.session_scope(settings.database_url) as session:
        session.add_all(
            [
                Product(sku="SKU-1", name="保温杯 Thermos", price=Decimal("59.00")),
                Product(sku="SKU-2", name="Tea", price=1),
            ]
        )
        session.flush()
        session.add_all(
            [
                TimelineSegment(recording_id=rec_id, sku="SKU-1", start=10.0, end=70.5),
                TimelineSegment(recording_id=rec_id, sku="SKU-2", start=80.0, end=120.0),
                TimelineSegment(recording_id=rec_id, sku="SKU-1", start=130.0, end=150.0),
            ]
        )
        session.add_all([ChatEvent(recording_id=rec_id, ts=float(i), text="好", kind="comment") for i in range(7)])
        session.add_all(
            [ChatEvent(recording_id=rec_id, ts=1.0, kind="gift"), ChatEvent(recording_id=rec_id, ts=2.0, kind="like")]
        )
        session.add_all(
            [
                StreamOrder(recording_id=rec_id, ts=20.0, sku="SKU-1", qty=2, amount=Decimal("118.00"), order_id="o1"),
                StreamOrder(recording_id=rec_id, ts=25.0, sku="SKU-1", qty=1, amount=Decimal("59.00"), order_id="o2"),
            ]
        )
        session.add_all([TranscriptCue(recording_id=rec_id, start=i, end=i + 1, text="hi") for i in range(4)])
        session.add(
            SideDataImport(
                recording_id=rec_id,
                kind="chat",
                filename="danmaku.json",
                sha256="0" * 64,
                rows=9,
                duplicates=3,
                warnings=["line 4: unknown kind 'enter', kept as comment"],
            )
        )
    html = login("merchant").get(f"/recordings/{rec_id}").text
    assert "1280x720" in html and "↻270°" in html and "720x1280 portrait" in html
    assert "mov,mp4" in html and "123,456,789 bytes" in html and "VFR" in html
    assert "2024-05-01 20:00:00" in html  # stream start in Asia/Shanghai

    def stat(label: str) -> str:
        match = re.search(r'stat-n">(\d+)</span><span class="stat-l">' + label, html)
        assert match, label
        return match.group(1)

    assert stat("products in timeline") == "2"
    assert "3 segments" in html
    assert stat("chat events") == "9"
    assert "comment 7" in html and "gift 1" in html
    assert stat("orders") == "2"
    assert "3 items · ¥177.00" in html
    assert stat("transcript cues") == "4"
    assert "danmaku.json" in html and "1 warning" in html and "unknown kind" in html
    assert "保温杯 Thermos" in html and "0:00:10.0" in html and "0:01:10.5" in html
    assert "1234567" in html  # the full probe report


def test_unknown_recording_is_a_404_page(login: Callable[[str], TestClient]) -> None:
    response = login("admin").get("/recordings/0123456789abcdef")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "0123456789abcdef" in response.text
    assert 'href="/recordings"' in response.text


def test_titles_are_escaped(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> None:
    rec_id = add_recording(title="<script>alert(1)</script>", status="failed", error="<img src=x onerror=alert(2)>")
    client = login("admin")
    for html in (client.get("/recordings").text, client.get(f"/recordings/{rec_id}").text):
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
        assert "<img src=x" not in html


@pytest.mark.postgres
def test_pages_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    """The list and detail queries (counts, sums, distinct products) on a real PostgreSQL."""
    settings = make_settings(tmp_path, database_url=postgres_url)
    with db.session_scope(settings.database_url) as session:
        secret = key_store.create_key(session, name="pg", role="admin").secret
        rec = Recording(**{**READY, "title": "pg recording"})
        session.add_all([rec, Product(sku="P1", name="Pot", price=Decimal("9.90"))])
        session.flush()
        session.add_all(
            [
                TimelineSegment(recording_id=rec.id, sku="P1", start=1.0, end=2.0),
                StreamOrder(recording_id=rec.id, ts=1.5, sku="P1", qty=3, amount=Decimal("29.70"), order_id="x"),
                ChatEvent(recording_id=rec.id, ts=1.0, kind="gift"),
            ]
        )
        rec_id = rec.id
    with TestClient(create_app(settings)) as client:
        client.post("/login", data={"key": secret})
        assert "pg recording" in client.get("/recordings").text
        html = client.get(f"/recordings/{rec_id}").text
    assert "3 items · ¥29.70" in html and "gift 1" in html and "Pot" in html
