"""A clip with no shop link still gives its leaders a variant: an end card with their name and no QR.

Two real tiny clips (douyin's end-card layout at 270x480): one of a recording with no side data (no
product at all) and one whose product has no buy_url. Approving gives them to a leader; the variant job
runs its real body in a thread. Neither has a leader poster, so none is listed or served.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import api.routers.clip_media as clip_media
from api.main import create_app
from runtime.config import Settings
from services.clips import render_recording_clip
from services.ingest import ingest_file
from services.review import approve_clip
from services.sidedata_import import import_side_data
from services.storage import get_storage
from store import keys as key_store
from store import leaders as leader_store
from store.db import get_sessionmaker, session_scope
from store.models import ClipVariant, Job
from studio.probe import probe
from tests.conftest import make_settings
from tests.services.clips.clip_media import SMALL, frame, make_source, qr_texts, register_presets
from tests.support.variants import Worker

NO_LINK_CATALOG = "sku,name,price,original_price,currency,coupon,image,buy_url\nLS-0009,围巾 Scarf,39.00,,CNY,,,\n"
NO_LINK_TIMELINE = "sku,start,end\nLS-0009,0,8\n"


def _recording(settings: Settings, source: Path, side_data: bool) -> str:
    session = get_sessionmaker(settings.database_url)()
    try:
        rec_id = ingest_file(settings, session, source, filename="live.mp4", origin="upload", move=False).recording.id
        if side_data:
            for kind, name, text in (("catalog", "c.csv", NO_LINK_CATALOG), ("timeline", "t.csv", NO_LINK_TIMELINE)):
                recording_id = None if kind == "catalog" else rec_id
                import_side_data(
                    settings, session, kind=kind, data=text.encode(), filename=name, recording_id=recording_id
                )
    finally:
        session.close()
    return rec_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Settings, a leader ``lin`` and their key, and two approved clips given to them: no product, no buy_url."""
    root = tmp_path_factory.mktemp("variants-no-link")
    with pytest.MonkeyPatch.context() as patch:
        register_presets(patch)
        settings = make_settings(root)
        source = make_source(root / "live.mp4")
        clips: dict[str, str] = {}
        session = get_sessionmaker(settings.database_url)()
        try:
            for name, side_data in (("no_product", False), ("no_buy_url", True)):
                rec_id = _recording(settings, source, side_data)
                clip = render_recording_clip(
                    settings, session, recording_id=rec_id, start=0.5, end=2.5, preset=SMALL.name
                )
                assert clip.status == "ready" and clip.share_url is None
                clips[name] = clip.id
            assert session.get(type(clip), clips["no_product"]).product is None  # type: ignore[union-attr]
            assert (clip.product or {}).get("sku") == "LS-0009" and not (clip.product or {}).get("buy_url")
            leader_store.create_leader(session, name="林团长", leader_id="lin")
            secret = key_store.create_key(session, name="lin-key", role="leader", leader_id="lin").secret
            session.commit()
            for clip_id in clips.values():
                approve_clip(
                    settings,
                    session,
                    clip_id=clip_id,
                    title="围巾",
                    caption="今晚直播同款",
                    hashtags=[],
                    leader_ids=["lin"],
                    approved_by=None,
                )
            yield {"settings": settings, "clips": clips, "lin": {"Authorization": f"Bearer {secret}"}}
        finally:
            session.close()


def _client(settings: Settings, worker: Worker) -> TestClient:
    app = create_app(settings)
    app.dependency_overrides[clip_media.variant_sender] = lambda: worker
    return TestClient(app)


def _variant(settings: Settings, clip_id: str) -> ClipVariant:
    with session_scope(settings.database_url) as session:
        row = session.scalars(
            select(ClipVariant).where(ClipVariant.clip_id == clip_id, ClipVariant.leader_id == "lin")
        ).one()
        session.expunge(row)
        return row


def _jobs(settings: Settings, clip_id: str) -> list[Job]:
    with session_scope(settings.database_url) as session:
        jobs = [j for j in session.scalars(select(Job).where(Job.kind == "variant")) if j.options["clip_id"] == clip_id]
        session.expunge_all()
        return jobs


@pytest.mark.parametrize("case", ["no_product", "no_buy_url"])
def test_a_clip_with_no_link_renders_a_qr_less_end_card_once(
    world: dict[str, Any], case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_presets(monkeypatch)
    settings, clip_id, lin, worker = world["settings"], world["clips"][case], world["lin"], Worker()
    with _client(settings, worker) as client:
        first = client.get(f"/media/clips/{clip_id}/clip.lin.mp4", headers=lin)
        assert first.status_code == 200, first.text
        again = client.get(f"/media/clips/{clip_id}/clip.lin.mp4", headers=lin)
        poster = client.get(f"/media/clips/{clip_id}/poster.lin.png", headers=lin)
        worker.join()
    assert again.status_code == 200 and again.content == first.content
    assert poster.status_code == 404  # no product card or no link: no poster is drawn
    (job,) = _jobs(settings, clip_id)
    assert job.status == "succeeded" and worker.sent == [job.id]
    variant = _variant(settings, clip_id)
    assert variant.video_key == f"clips/{clip_id}/clip.lin.mp4" and variant.poster_key is None
    assert variant.share_url is None  # no link was made: there is nothing for it to lead to
    video = get_storage(settings).local_path(variant.video_key)
    base = get_storage(settings).local_path(f"clips/{clip_id}/clip.mp4")
    assert probe(video).duration == pytest.approx((probe(base).duration or 0) + 3.0, abs=0.1)
    end = frame(video, (probe(video).duration or 0) - 1.0, tmp_path)
    assert qr_texts(end) == []  # no QR that leads nowhere
    assert end.std() > 3  # but a card (the leader's name, the product): not a blank frame


def test_no_poster_is_listed_for_a_clip_with_no_link(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    register_presets(monkeypatch)
    settings, clips, lin = world["settings"], world["clips"], world["lin"]
    with _client(settings, Worker()) as client:
        mine = {item["clip_id"]: item for item in client.get("/api/me/clips", headers=lin).json()}
        assert set(mine) == set(clips.values())
        assert all(item["poster"] is None for item in mine.values())
        assert all(item["video"].endswith("/clip.lin.mp4") for item in mine.values())
        for clip_id in clips.values():
            (entry,) = client.get(f"/api/clips/{clip_id}", headers=lin).json()["variants"]
            assert entry["poster"] is None and entry["video"] == f"/media/clips/{clip_id}/clip.lin.mp4"
        page = client.get("/portal", headers=lin)
    assert page.status_code == 200
    assert "poster.lin.png" not in page.text and 'class="p-poster"' not in page.text
    assert all(f"/media/clips/{clip_id}/clip.lin.mp4" in page.text for clip_id in clips.values())
