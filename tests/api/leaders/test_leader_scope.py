"""A leader's key reads only what was given to that leader: a matrix over every route that returns clip data."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import api.routers
from runtime.config import Settings
from services.storage import get_storage
from store import leaders as leader_store
from store.db import session_scope
from store.models import Clip, ClipVariant, Recording, ShareLink

ANN, BEA = "ann", "bea"
BEA_MARKERS = ("Bea Berry", "clip.bea.mp4", "poster.bea.png", "bea-secret-link", "/s/beacode", "bea-bytes")


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _clip(session: Any, settings: Settings, recording_id: str, start: float, leaders: list[str]) -> str:
    clip = Clip(
        recording_id=recording_id,
        preset="douyin",
        start=start,
        end=start + 10,
        status="ready",
        share_url="https://shop.example.com/clip-link",
        duration=10.0,
        sku="LS-1",
    )
    session.add(clip)
    session.flush()
    files = {"video_key": "clip.mp4", "cover_key": "cover.jpg", "poster_key": "poster.png"}
    for attr, name in files.items():
        key = f"clips/{clip.id}/{name}"
        _write(settings, key, f"{clip.id} {name}".encode())
        setattr(clip, attr, key)
    for leader in leaders:
        name = {ANN: "Ann Apple", BEA: "Bea Berry"}[leader]
        video, poster = f"clips/{clip.id}/clip.{leader}.mp4", f"clips/{clip.id}/poster.{leader}.png"
        _write(settings, video, f"{leader}-bytes video".encode())
        _write(settings, poster, f"{leader}-bytes poster".encode())
        variant = ClipVariant(
            clip_id=clip.id,
            leader_id=leader,
            leader_name=name,
            video_key=video,
            poster_key=poster,
            share_url=f"https://shop.example.com/s/{leader}-secret-link",
        )
        session.add(variant)
        session.flush()
        session.add(
            ShareLink(
                code=f"{leader}code{start:.0f}",
                clip_id=clip.id,
                variant_id=variant.id,
                leader_id=leader,
                target_url="https://shop.example.com/buy",
            )
        )
    return clip.id


def _write(settings: Settings, key: str, data: bytes) -> None:
    with get_storage(settings).writer(key) as out:
        out.write(data)


@pytest.fixture
def world(settings: Settings) -> dict[str, str]:
    """A recording with three ready clips: one given to Ann and Bea, one to Bea only, one to nobody."""
    with session_scope(settings.database_url) as session:
        leader_store.create_leader(session, name="Ann Apple", leader_id=ANN)
        leader_store.create_leader(session, name="Bea Berry", leader_id=BEA)
        recording = Recording(
            title="Night live", source="upload", original_filename="night.mp4", status="ready", duration=600.0
        )
        session.add(recording)
        session.flush()
        return {
            "recording": recording.id,
            "shared": _clip(session, settings, recording.id, 0, [ANN, BEA]),
            "bea_only": _clip(session, settings, recording.id, 100, [BEA]),
            "nobody": _clip(session, settings, recording.id, 200, []),
        }


def test_leader_lists_only_clips_given_to_them(
    client: TestClient, make_key: Callable[..., str], world: dict[str, str]
) -> None:
    ann = _auth(make_key("leader", ANN))
    listed = client.get("/api/clips", headers=ann).json()
    assert listed["total"] == 1 and [c["id"] for c in listed["items"]] == [world["shared"]]
    clip = listed["items"][0]
    assert [v["leader_id"] for v in clip["variants"]] == [ANN]
    assert clip["share_url"] == "https://shop.example.com/s/ann-secret-link"
    per_recording = client.get(f"/api/recordings/{world['recording']}/clips", headers=ann).json()["items"]
    assert [c["id"] for c in per_recording] == [world["shared"]]
    assert client.get(f"/api/clips/{world['bea_only']}", headers=ann).status_code == 404
    assert client.get(f"/api/clips/{world['nobody']}", headers=ann).status_code == 404
    staff = client.get("/api/clips", headers=_auth(make_key("merchant"))).json()
    assert staff["total"] == 3  # staff see everything, every variant
    shared = next(c for c in staff["items"] if c["id"] == world["shared"])
    assert {v["leader_id"] for v in shared["variants"]} == {ANN, BEA}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_leader_fetches_base_files_and_only_their_own_variant(
    client: TestClient, make_key: Callable[..., str], world: dict[str, str], method: str
) -> None:
    ann = _auth(make_key("leader", ANN))
    shared, bea_only = world["shared"], world["bea_only"]
    allowed = ["clip.mp4", "cover.jpg", "poster.png", "clip.ann.mp4", "poster.ann.png"]
    for name in allowed:
        answer = client.request(method, f"/media/clips/{shared}/{name}", headers=ann)
        assert answer.status_code == 200, (name, answer.status_code)
    for name in ("clip.bea.mp4", "poster.bea.png"):
        assert client.request(method, f"/media/clips/{shared}/{name}", headers=ann).status_code == 404, name
    for name in ("clip.mp4", "cover.jpg", "poster.png", "clip.bea.mp4"):
        assert client.request(method, f"/media/clips/{bea_only}/{name}", headers=ann).status_code == 404, name
    bea = _auth(make_key("leader", BEA))
    assert client.request(method, f"/media/clips/{shared}/clip.bea.mp4", headers=bea).status_code == 200
    assert client.request(method, f"/media/clips/{shared}/clip.ann.mp4", headers=bea).status_code == 404


def test_the_gallery_shows_a_leader_only_their_clips(
    client: TestClient, login: Callable[..., TestClient], world: dict[str, str]
) -> None:
    html = login("leader", ANN).get("/clips").text
    assert world["shared"] in html and world["bea_only"] not in html and world["nobody"] not in html
    assert "Ann Apple" in html and not any(marker in html for marker in BEA_MARKERS)
    filtered = client.get(f"/clips?recording={world['recording']}")
    assert filtered.status_code == 200 and world["shared"] in filtered.text
    assert "Night live" not in filtered.text  # a leader learns no recording titles through the filter


def _concrete(path: str, world: dict[str, str]) -> str:
    values = {
        "clip_id": world["shared"],
        "recording_id": world["recording"],
        "name": "clip.bea.mp4",
        "leader_id": BEA,
        "code": "beacode0",
        "sku": "LS-1",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m[1], "x"), path)


def test_no_route_shows_a_leader_another_leaders_data(
    client: TestClient, make_key: Callable[..., str], world: dict[str, str]
) -> None:
    """Every GET route of the app, with ids of Bea's data: Ann's key never gets a byte of it."""
    ann = make_key("leader", ANN)
    client.post("/login", data={"key": ann}, follow_redirects=False)  # pages read the cookie
    modules = [importlib.import_module(f"api.routers.{m.name}") for m in pkgutil.iter_modules(api.routers.__path__)]
    routes = [r for m in modules for r in m.router.routes if isinstance(r, APIRoute) and "GET" in r.methods]
    assert len(routes) > 20
    checked = shown_own = 0
    for route in routes:
        if route.path.startswith("/s/"):
            continue  # the public share link: it only redirects to the product's page
        path = _concrete(route.path, world)
        answer = client.get(path, headers=_auth(ann), follow_redirects=False)
        body = answer.text
        leaked = [marker for marker in BEA_MARKERS if marker in body and marker not in path]  # not an echo
        assert not leaked, f"{route.path} showed {leaked} ({answer.status_code})"
        checked += 1
        shown_own += answer.status_code == 200 and "Ann Apple" in body
    assert checked > 20
    assert shown_own >= 3  # the sweep really read Ann's own data (list, one clip, gallery), not only refusals
