"""Clips of stored recordings: product from the timeline, snapshots, re-renders that reuse the row, variants."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.clips import InvalidClipRequest, prepare_clip, render_recording_clip, run_clip
from services.storage import get_storage
from store import share_links
from store.clips import clip_file_keys
from store.db import get_sessionmaker, session_scope
from store.highlights import add_manual_highlight
from store.models import Clip, ClipVariant, Product, Recording
from studio.render import RenderFailed, validate_output
from tests.services.clips.clip_media import BUY_URL, CORNER, SMALL, decode_errors, frame, qr_texts

SHARE = "https://ls.example.com/s/c0rner"


def _session(settings: Settings) -> Session:
    return get_sessionmaker(settings.database_url)()


def _path(settings: Settings, key: str | None) -> Path:
    assert key is not None
    return get_storage(settings.media_root).local_path(key)


@pytest.mark.usefixtures("small_presets")
def test_a_stored_clip_takes_the_product_on_air_and_its_cues(
    settings: Settings, stored_recording: str, tmp_path: Path
) -> None:
    session = _session(settings)
    try:
        clip = render_recording_clip(
            settings,
            session,
            recording_id=stored_recording,
            start=0.5,
            end=2.5,
            preset=CORNER.name,
            share_url=SHARE,
        )
    finally:
        session.close()
    assert clip.status == "ready" and clip.error is None
    assert clip.sku == "LS-0001"  # on air at 1.5 s (the window's middle), from the timeline
    assert clip.product == {
        "sku": "LS-0001",
        "name": "保湿面霜 Hydrating Cream",
        "price": "89.00",
        "original_price": "129.00",
        "currency": "CNY",
        "coupon": "满99减10",
        "buy_url": BUY_URL,
    }
    assert clip.video_key == f"clips/{clip.id}/clip.mp4" and clip.duration == pytest.approx(2.0, abs=0.05)
    video = _path(settings, clip.video_key)
    validate_output(video, preset=CORNER, expected_duration=2.0)
    assert clip.size_bytes == video.stat().st_size
    assert qr_texts(frame(video, 1.0, tmp_path)) == [SHARE]
    assert qr_texts(_path(settings, clip.poster_key)) == [SHARE]
    assert _path(settings, clip.cover_key).is_file()
    assert (clip.actual_start, clip.actual_end) == (0.5, pytest.approx(2.5, abs=0.01))


@pytest.mark.usefixtures("small_presets")
def test_rendering_the_same_window_again_reuses_the_row_and_keeps_each_renders_price(
    settings: Settings, stored_recording: str, tmp_path: Path
) -> None:
    leaders = [{"name": "小王团长", "share_url": "https://ls.example.com/s/w"}, {"name": "Lily"}]
    session = _session(settings)
    try:
        first = render_recording_clip(
            settings, session, recording_id=stored_recording, start=4.0, end=5.0, preset=SMALL.name, leaders=leaders
        )
        first_id, first_keys = first.id, clip_file_keys(first)
        assert first.sku == "LS-0002" and first.product is not None and first.product["price"] == "59.90"
        assert sorted(v.leader_name for v in first.variants) == ["Lily", "小王团长"]
        lily = next(v for v in first.variants if v.leader_name == "Lily")
        # no link given: Lily gets her own share link /s/{code}, which leads to the product page
        assert lily.share_url is not None and lily.share_url.startswith(f"{settings.public_base_url}/s/")
        lily_link = share_links.resolve(session, lily.share_url.rsplit("/", 1)[1])
        assert lily_link is not None and lily_link.target_url == "https://shop.example.com/p/LS-0002"
        assert lily_link.leader_id == lily.leader_id and lily_link.variant_id == lily.id
        for key in first_keys.values():
            assert _path(settings, key).is_file()
        variant_video = _path(settings, lily.video_key)
        assert decode_errors(variant_video) == ""
        assert qr_texts(frame(variant_video, 2.0, tmp_path)) == [lily.share_url]

        product = session.get(Product, "LS-0002")
        assert product is not None
        product.price = Decimal("49.90")  # the catalog changes; the rendered clip keeps its price until re-rendered
        session.commit()
        kept = session.get(Clip, first_id)
        assert kept is not None and kept.product is not None and kept.product["price"] == "59.90"

        again = render_recording_clip(
            settings, session, recording_id=stored_recording, start=4.0, end=5.0, preset=SMALL.name, leaders=leaders[1:]
        )
        assert again.id == first_id and again.product is not None and again.product["price"] == "49.90"
        assert session.scalar(select(func.count()).select_from(Clip)) == 1
        assert [v.leader_name for v in again.variants] == ["Lily"]
        assert again.variants[0].share_url == lily.share_url  # re-rendering keeps the leader's code
        assert session.scalar(select(func.count()).select_from(ClipVariant)) == 1
    finally:
        session.close()
    wang = next(name for name in first_keys if name.startswith("clip.l-"))
    assert not _path(settings, first_keys[wang]).exists()  # the dropped leader's files are gone
    folder = settings.media_root / "clips" / first_id
    assert sorted(p.name for p in folder.iterdir()) == sorted(clip_file_keys(again))


@pytest.mark.usefixtures("small_presets")
def test_bad_requests_store_nothing(settings: Settings, stored_recording: str) -> None:
    cases = [
        ({"start": 1.0, "end": 2.0, "sku": "NOPE"}, "unknown SKU 'NOPE': it is not in the product catalog"),
        ({"start": 3.0, "end": 3.0}, "must be before end"),
        ({"start": 6.0, "end": 12.0}, "outside the recording, which is 8.0"),
        ({"start": 1.0, "end": 2.0, "preset": "myspace"}, "unknown preset 'myspace'"),
        ({"start": 1.0, "end": 2.0, "share_url": "ftp://x/y"}, "share URL: URL must use http or https"),
        ({"start": 1.0, "end": 2.0, "mode": "fast", "leaders": [{"name": "Lily"}]}, "leader variants need"),
        ({}, "give start and end, or a highlight"),
    ]
    session = _session(settings)
    try:
        for kwargs, message in cases:
            with pytest.raises(InvalidClipRequest, match=message):
                prepare_clip(settings, session, recording_id=stored_recording, **kwargs)  # type: ignore[arg-type]
            session.rollback()
        with pytest.raises(InvalidClipRequest, match="not a recording id"):
            prepare_clip(settings, session, recording_id="nope", start=0, end=1)
        assert session.scalar(select(func.count()).select_from(Clip)) == 0
    finally:
        session.close()


@pytest.mark.usefixtures("small_presets")
def test_a_highlight_gives_window_peak_and_sku(settings: Settings, stored_recording: str) -> None:
    with session_scope(settings.database_url) as session:
        highlight = add_manual_highlight(session, recording_id=stored_recording, start=5.0, end=6.5, sku="LS-0001")
        highlight_id = highlight.id
    session = _session(settings)
    try:
        clip = prepare_clip(
            settings, session, recording_id=stored_recording, highlight_id=highlight_id, preset=SMALL.name
        )
        assert (clip.start, clip.end, clip.sku, clip.highlight_id, clip.status) == (
            5.0,
            6.5,
            "LS-0001",
            highlight_id,
            "queued",
        )  # the highlight's SKU wins over the timeline's
        session.commit()
        done = run_clip(settings, session, clip_id=clip.id)
        assert done.status == "ready" and done.reason == "set by hand"
    finally:
        session.close()


@pytest.mark.usefixtures("small_presets")
def test_a_failed_render_marks_the_clip_failed_with_the_reason(
    settings: Settings, stored_recording: str, corrupt_source: Path
) -> None:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, stored_recording)
        assert recording is not None
        get_storage(settings.media_root).import_file(recording.storage_key or "", corrupt_source)
    session = _session(settings)
    try:
        with pytest.raises(RenderFailed):
            render_recording_clip(
                settings, session, recording_id=stored_recording, start=2.0, end=6.0, preset=SMALL.name
            )
        clip = session.scalars(select(Clip)).one()
        assert clip.status == "failed" and clip.error and "corrupt" in clip.error
        assert clip.video_key is None
    finally:
        session.close()
    assert list((settings.media_root / "clips" / clip.id).iterdir()) == []
