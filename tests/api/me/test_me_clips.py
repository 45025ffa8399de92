"""GET /api/me/clips: a leader's own approved clips with their variant, poster, link and caption;
and the caption-template endpoints the caption comes from."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.config import Settings

_spec = importlib.util.spec_from_file_location(
    "approve_helpers", Path(__file__).parents[1] / "clips" / "test_approve.py"
)
assert _spec is not None and _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def approved(client: TestClient, settings: Settings, make_key: Callable[..., str]) -> dict[str, str]:
    merchant = _auth(make_key("merchant"))
    for_ann = helpers.make_clip(settings)
    for_bea = helpers.make_clip(settings)
    draft = helpers.make_clip(settings)
    body = {"title": "保湿面霜", "caption": "主播亲测好用", "hashtags": ["护肤"]}
    assert client.post(
        f"/api/clips/{for_ann}/approve", json={**body, "leader_ids": ["ann"]}, headers=merchant
    ).is_success
    assert client.post(
        f"/api/clips/{for_bea}/approve", json={**body, "leader_ids": ["bea"]}, headers=merchant
    ).is_success
    return {"ann": for_ann, "bea": for_bea, "draft": draft, "merchant": merchant["Authorization"]}


def test_a_leader_sees_only_its_own_approved_clips(
    client: TestClient, approved: dict[str, str], make_key: Callable[..., str], settings: Settings
) -> None:
    ann = _auth(make_key("leader", "ann"))
    answer = client.get("/api/me/clips", headers=ann)
    assert answer.status_code == 200
    (item,) = answer.json()
    clip_id = approved["ann"]
    assert item["clip_id"] == clip_id and item["title"] == "保湿面霜"
    assert (
        item["video"] == f"/media/clips/{clip_id}/clip.ann.mp4"
        and item["poster"] == f"/media/clips/{clip_id}/poster.ann.png"
    )
    assert item["share_url"].startswith(f"{settings.public_base_url}/s/")
    caption = item["caption"]
    assert caption.startswith("保湿面霜\n主播亲测好用") and "面霜 ¥89.00" in caption and "#护肤" in caption
    assert caption.endswith(item["share_url"])
    bea = client.get("/api/me/clips", headers=_auth(make_key("leader", "bea"))).json()
    assert [i["clip_id"] for i in bea] == [approved["bea"]] and bea[0]["share_url"] != item["share_url"]


def test_other_roles_get_403(client: TestClient, approved: dict[str, str]) -> None:
    assert client.get("/api/me/clips", headers={"Authorization": approved["merchant"]}).status_code == 403


def test_unapproved_clips_are_not_listed(client: TestClient, settings: Settings, make_key: Callable[..., str]) -> None:
    helpers.make_clip(settings)
    assert client.get("/api/me/clips", headers=_auth(make_key("leader", "ann"))).json() == []


def test_the_manual_caption_template_can_be_changed_previewed_and_reset(
    client: TestClient, approved: dict[str, str], make_key: Callable[..., str]
) -> None:
    merchant = {"Authorization": approved["merchant"]}
    listed = {t["channel"]: t for t in client.get("/api/caption-templates", headers=merchant).json()["items"]}
    assert {"manual", "webhook"} <= set(listed) and listed["manual"]["custom"] is False
    refused = client.put("/api/caption-templates/manual", json={"body": "{{ ''.__class__ }}"}, headers=merchant)
    assert refused.status_code == 422 and "sandbox" in refused.text
    unknown = client.put("/api/caption-templates/manual", json={"body": "{{ shop }}"}, headers=merchant)
    assert unknown.status_code == 422 and "'shop' is undefined" in unknown.text
    unguarded = client.put("/api/caption-templates/manual", json={"body": "{{ leader.name }}"}, headers=merchant)
    assert unguarded.status_code == 422 and "{% if product %}" in unguarded.text
    body = "{% if leader %}{{ leader.name }}{% endif %}: {{ share_url }}"
    saved = client.put("/api/caption-templates/manual", json={"body": body}, headers=merchant)
    assert saved.status_code == 200 and saved.json()["custom"] is True
    (item,) = client.get("/api/me/clips", headers=_auth(make_key("leader", "ann"))).json()
    assert item["caption"] == f"Ann: {item['share_url']}"
    preview = client.post(
        "/api/caption-templates/preview",
        json={
            "channel": "webhook",
            "body": "{{ caption }} {{ share_url }}",
            "clip_id": approved["ann"],
            "leader_id": "ann",
        },
        headers=merchant,
    ).json()
    assert preview["caption"] == f"主播亲测好用 {item['share_url']}" and preview["fits"] and preview["unit"] == "chars"
    assert client.delete("/api/caption-templates/manual", headers=merchant).json()["custom"] is False
    assert client.put("/api/caption-templates/nope", json={"body": "x"}, headers=merchant).status_code == 404
