"""DELETE /api/recordings/{id}: refused (409) while its clips' share links carry clicks or attributed sales,
since the cascade (clip -> share link -> click) would erase that history; allowed otherwise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from runtime.config import Settings
from store.db import session_scope
from store.models import Attribution, Click, Recording, Sale
from tests.support.sales import add_click, make_clip, make_link

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _delete(client: TestClient, issue_key: Callable[..., str], recording_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {issue_key('content')}"}
    return client.delete(f"/api/recordings/{recording_id}", headers=headers)


def _exists(settings: Settings, recording_id: str) -> bool:
    with session_scope(settings.database_url) as session:
        return session.get(Recording, recording_id) is not None


def test_a_recording_whose_links_have_clicks_is_not_deleted(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    with session_scope(settings.database_url) as session:
        shop = make_clip(session)
        add_click(session, make_link(session, shop.clip_id, "wang"), AT)
        add_click(session, make_link(session, shop.clip_id, "zhao", "telegram"), AT)
    answer = _delete(client, issue_key, shop.recording_id)
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert detail["code"] == "recording_in_use"
    assert "2 logged click(s) and 0 attributed sale(s)" in detail["message"]
    assert _exists(settings, shop.recording_id)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Click)) == 2  # nothing erased


def test_a_recording_with_attributed_sales_is_not_deleted(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    with session_scope(settings.database_url) as session:
        shop = make_clip(session)
        link = make_link(session, shop.clip_id, "wang")
        sale = Sale(order_id="S-1", source="webhook", status="paid", currency="CNY", amount=100, paid_at=AT)
        session.add(sale)
        session.flush()
        session.add(
            Attribution(sale_id=sale.id, link_id=link.id, clip_id=shop.clip_id, leader_id="wang", method="share_code")
        )
    answer = _delete(client, issue_key, shop.recording_id)
    assert answer.status_code == 409
    assert "0 logged click(s) and 1 attributed sale(s)" in answer.json()["detail"]["message"]
    assert _exists(settings, shop.recording_id)


def test_a_recording_without_traffic_is_deleted(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    with session_scope(settings.database_url) as session:
        shop = make_clip(session)
        make_link(session, shop.clip_id, "wang")  # a link nobody followed yet
        other = make_clip(session)
        add_click(session, make_link(session, other.clip_id, "wang"), AT)  # another recording's traffic
    answer = _delete(client, issue_key, shop.recording_id)
    assert answer.status_code == 204, answer.text
    assert not _exists(settings, shop.recording_id) and _exists(settings, other.recording_id)
