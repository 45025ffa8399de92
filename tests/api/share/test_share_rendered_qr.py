"""End to end: a rendered clip's QR codes (corner, poster, leader end card) lead through ``/s/{code}`` to the
product's buy_url, on a real server; a product with no buy_url gets no QR at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from runtime.config import Settings
from services.clips import InvalidClipRequest, render_recording_clip
from services.storage import get_storage
from store import share_links
from store.db import get_sessionmaker
from store.models import Product, ShareLink
from tests.services.clips.clip_media import (
    BUY_URL,
    CORNER,
    SMALL,
    frame,
    make_source,
    qr_texts,
    register_presets,
    store_recording,
)
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("share-source") / "live.mp4")


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    yield live
    live.stop()


@pytest.fixture
def served(settings: Settings, server: LiveServer, source: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose public base URL is the live server, with the test recording stored."""
    register_presets(monkeypatch)
    public = settings.model_copy(update={"public_base_url": server.url})
    store_recording(public, source)
    return public


def _follow(url: str) -> httpx.Response:
    with httpx.Client() as client:
        return client.get(url, follow_redirects=False)


def _path(settings: Settings, key: str | None) -> Path:
    assert key is not None
    return get_storage(settings.media_root).local_path(key)


@pytest.mark.slow
def test_corner_qr_and_poster_lead_through_the_share_link_to_the_product(served: Settings, tmp_path: Path) -> None:
    session = get_sessionmaker(served.database_url)()
    try:
        recording_id = _recording(served)
        clip = render_recording_clip(served, session, recording_id=recording_id, start=0.5, end=2.5, preset=CORNER.name)
        again = render_recording_clip(
            served, session, recording_id=recording_id, start=0.5, end=2.5, preset=CORNER.name
        )
        links = session.scalars(select(ShareLink)).all()
    finally:
        session.close()
    url = clip.share_url
    assert url is not None and url.startswith(f"{served.public_base_url}/s/")
    assert again.share_url == url and len(links) == 1  # a re-render reuses the link
    assert qr_texts(_path(served, clip.poster_key)) == [url]
    assert qr_texts(frame(_path(served, clip.video_key), 1.0, tmp_path)) == [url]  # the corner QR
    response = _follow(url)
    assert response.status_code == 302 and response.headers["location"].startswith(BUY_URL + "?lsclid=")


@pytest.mark.slow
def test_each_leaders_end_card_and_poster_carry_their_own_working_link(served: Settings, tmp_path: Path) -> None:
    session = get_sessionmaker(served.database_url)()
    try:
        clip = render_recording_clip(
            served,
            session,
            recording_id=_recording(served),
            start=0.5,
            end=1.5,
            preset=SMALL.name,
            leaders=[{"name": "Lily"}],
        )
        (lily,) = clip.variants
        link = share_links.resolve(session, (lily.share_url or "").rsplit("/", 1)[-1])
        assert link is not None and (link.leader_id, link.variant_id) == ("lily", lily.id)
    finally:
        session.close()
    assert lily.share_url != clip.share_url
    assert qr_texts(frame(_path(served, lily.video_key), 2.0, tmp_path)) == [lily.share_url]  # the end card
    assert qr_texts(_path(served, lily.poster_key)) == [lily.share_url]
    for url in (lily.share_url, clip.share_url):
        assert url is not None
        response = _follow(url)
        assert response.status_code == 302 and response.headers["location"].startswith(BUY_URL + "?lsclid=")


@pytest.mark.slow
def test_a_product_without_buy_url_gets_no_qr_and_leaders_are_refused(served: Settings, tmp_path: Path) -> None:
    session = get_sessionmaker(served.database_url)()
    try:
        product = session.get(Product, "LS-0001")
        assert product is not None
        product.buy_url = None
        session.commit()
        recording_id = _recording(served)
        with pytest.raises(InvalidClipRequest, match="has no buy_url: add buy_url to the catalog"):
            render_recording_clip(
                served,
                session,
                recording_id=recording_id,
                start=0.5,
                end=1.5,
                preset=SMALL.name,
                leaders=[{"name": "Lily"}],
            )
        clip = render_recording_clip(served, session, recording_id=recording_id, start=0.5, end=2.5, preset=CORNER.name)
        assert session.scalars(select(ShareLink)).all() == []
    finally:
        session.close()
    assert clip.status == "ready" and clip.share_url is None and clip.poster_key is None
    assert qr_texts(frame(_path(served, clip.video_key), 1.0, tmp_path)) == []  # no dead QR in the corner


def _recording(settings: Settings) -> str:
    from store.models import Recording

    session = get_sessionmaker(settings.database_url)()
    try:
        recording_id = session.scalars(select(Recording.id)).one()
    finally:
        session.close()
    return recording_id
