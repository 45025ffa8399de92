"""Share links in the database: code format, uniqueness, one link per (clip, leader, channel), resolving."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runtime.config import Settings
from store import share_links
from store.db import get_sessionmaker
from store.leaders import create_leader
from store.models import Clip, Recording, ShareLink

BUY = "https://shop.example.com/p/LS-0001"


@pytest.fixture
def session(settings: Settings) -> Session:
    """A session in which the leaders the tests bind links to exist."""
    session = get_sessionmaker(settings.database_url)()
    for leader in ("lily", "wang", "x"):
        create_leader(session, name=leader, leader_id=leader)
    return session


def _clip(session: Session, start: float = 1.0) -> str:
    recording = Recording(title="live", source="path", original_filename="live.mp4", status="ready", duration=60.0)
    session.add(recording)
    session.flush()
    clip = Clip(recording_id=recording.id, preset="douyin", start=start, end=start + 5)
    session.add(clip)
    session.flush()
    return clip.id


def test_codes_are_short_url_safe_and_free_of_look_alike_characters() -> None:
    codes = {share_links.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # no repeats in a small sample of a ~8e14 space
    for code in codes:
        assert re.fullmatch(r"[a-z2-9]{10}", code) and not set(code) & set("01oli")
        assert share_links.is_code(code)
    assert (
        not share_links.is_code("ABCDEFGHJK")
        and not share_links.is_code("k7mq2xwz9")
        and not share_links.is_code("k7mq2xwz9d/")
    )


def test_one_link_per_clip_leader_and_channel_and_reused_on_every_call(session: Session) -> None:
    clip_id = _clip(session)
    base = share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY)
    assert share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY).code == base.code
    lily = share_links.get_or_create_link(session, clip_id=clip_id, leader_id="lily", target_url=BUY)
    wang = share_links.get_or_create_link(session, clip_id=clip_id, leader_id="wang", target_url=BUY)
    wecom = share_links.get_or_create_link(session, clip_id=clip_id, leader_id="lily", channel="wecom", target_url=BUY)
    assert len({base.code, lily.code, wang.code, wecom.code}) == 4
    assert share_links.get_or_create_link(session, clip_id=clip_id, leader_id="lily", target_url=BUY).id == lily.id
    other = share_links.get_or_create_link(session, clip_id=_clip(session, 10.0), target_url=BUY)
    assert other.code != base.code
    session.commit()
    assert session.scalar(select(func.count()).select_from(ShareLink)) == 5
    # the catalog's URL changed: same code, new target
    moved = share_links.get_or_create_link(session, clip_id=clip_id, leader_id="lily", target_url=BUY + "?v=2")
    assert moved.code == lily.code and share_links.resolve(session, lily.code).target_url == BUY + "?v=2"  # type: ignore[union-attr]


def test_the_database_refuses_a_second_link_for_the_same_binding_or_code(session: Session) -> None:
    clip_id = _clip(session)
    first = share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY)
    session.commit()
    for duplicate in (
        ShareLink(code=share_links.new_code(), clip_id=clip_id, target_url=BUY),  # same (clip, no leader, no channel)
        ShareLink(code=first.code, clip_id=clip_id, leader_id="x", target_url=BUY),  # same code
    ):
        session.add(duplicate)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_a_code_collision_is_retried_with_a_fresh_code(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    clip_id = _clip(session)
    taken = share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY).code
    session.commit()
    codes = iter([taken, taken, "k7mq2xwz9d"])
    monkeypatch.setattr(share_links, "new_code", lambda: next(codes))
    link = share_links.get_or_create_link(session, clip_id=clip_id, leader_id="lily", target_url=BUY)
    session.commit()
    assert link.code == "k7mq2xwz9d" and share_links.resolve(session, taken) is not None


def test_targets_must_be_http_urls(session: Session) -> None:
    clip_id = _clip(session)
    for bad in ("javascript:alert(1)", "ftp://shop.example.com/x", "https://", "https://shop.example.com/\r\nX: y", ""):
        with pytest.raises(share_links.ShareLinkError):
            share_links.get_or_create_link(session, clip_id=clip_id, target_url=bad)


def test_resolve_finds_active_links_only(session: Session) -> None:
    link = share_links.get_or_create_link(session, clip_id=_clip(session), target_url=BUY)
    session.commit()
    assert share_links.resolve(session, link.code) is not None
    assert share_links.resolve(session, "k7mq2xwz9d") is None and share_links.resolve(session, "") is None
    assert share_links.resolve(session, link.code.upper()) is None
    assert share_links.disable_link(session, code=link.code) and not share_links.disable_link(session, code="nope")
    session.commit()
    assert share_links.resolve(session, link.code) is None
    # a disabled link stays disabled when the clip is rendered again
    share_links.get_or_create_link(session, clip_id=link.clip_id, target_url=BUY)
    assert share_links.resolve(session, link.code) is None


def test_deleting_the_clip_deletes_its_links(session: Session) -> None:
    clip_id = _clip(session)
    share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY)
    session.commit()
    clip = session.get(Clip, clip_id)
    session.delete(clip)
    session.commit()
    assert session.scalar(select(func.count()).select_from(ShareLink)) == 0


@pytest.mark.postgres
def test_collisions_and_bindings_on_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL aborts a transaction on a unique violation: the retry's savepoint must keep it usable."""
    from store.db import upgrade

    upgrade(postgres_url)
    session = get_sessionmaker(postgres_url)()
    try:
        lily_id = create_leader(session, name="Lily", leader_id=f"lily-{secrets.token_hex(4)}").id
        clip_id = _clip(session)
        first = share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY)
        codes = iter([first.code, "k7mq2xwz9d"])
        monkeypatch.setattr(share_links, "new_code", lambda: next(codes))
        lily = share_links.get_or_create_link(session, clip_id=clip_id, leader_id=lily_id, target_url=BUY)
        session.commit()
        assert lily.code == "k7mq2xwz9d"
        assert share_links.get_or_create_link(session, clip_id=clip_id, target_url=BUY).id == first.id
        session.add(ShareLink(code="abcdefghjk", clip_id=clip_id, target_url=BUY))
        with pytest.raises(IntegrityError):
            session.flush()  # the expression index: no second (clip, no leader, no channel) link
        session.rollback()
        assert share_links.resolve(session, first.code) is not None
    finally:
        session.close()


def test_a_link_for_a_leader_that_is_not_a_row_is_refused(session: Session) -> None:
    clip_id = _clip(session)
    with pytest.raises(share_links.ShareLinkError, match="no leader 'ghost'"):
        share_links.get_or_create_link(session, clip_id=clip_id, leader_id="ghost", target_url=BUY)
