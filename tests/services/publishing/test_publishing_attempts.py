"""How one attempt ends, whatever fails: nothing is left ``sending`` by an error raised before a request
left; a receiver's link is kept only when it is http(s); a stale worker cannot overwrite a newer attempt;
the record of a visible post is never undone by remembering its upload ids."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from distribution.channels.webhook import WebhookChannel
from liveslice.standins.base import Received, Reply
from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from services import delivery
from services.delivery import Claim, _finish, claim, deliver
from services.delivery_post import remember_uploads
from services.publishing import create_publication, expire_stuck_sending, retry_publication
from store.db import session_scope, upgrade
from store.models import ChannelMedia, Clip, Job, Publication, utcnow
from tests.conftest import make_settings
from tests.support.publishing import make_clip, make_webhook_target, publication


def _publish(settings: Settings, clip_id: str, target_id: str) -> str:
    with session_scope(settings.database_url) as session:
        return create_publication(settings, session, clip_id=clip_id, target_id=target_id).id


class LinkingStandIn(WebhookStandIn):
    """A receiver that answers 201 with a ``Location`` of its choosing."""

    location = "javascript:alert(document.cookie)"

    def handle(self, request: Received) -> Reply:
        status, headers, body = super().handle(request)
        if status == 204:
            return 201, {"location": self.location}, b""
        return status, headers, body


@pytest.mark.parametrize(
    ("location", "kept"),
    [
        ("javascript:alert(document.cookie)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("https://receiver.example/posts/7", "https://receiver.example/posts/7"),
        ("https://receiver.example/" + "x" * 2100, None),
    ],
)
def test_only_an_http_link_from_the_receiver_is_kept(
    settings: Settings, secret: str, location: str, kept: str | None
) -> None:
    with LinkingStandIn(secret=secret) as standin:
        assert isinstance(standin, LinkingStandIn)
        standin.location = location
        pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
        assert deliver(settings, pub_id) == "sent"
    assert publication(settings, pub_id).external_url == kept


def test_the_page_links_only_http_urls(client: Any, settings: Settings, secret: str, issue_key: Any) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, "http://127.0.0.1:9/h", secret))
    with session_scope(settings.database_url) as session:  # as a row written before the fix could hold
        session.execute(
            update(Publication)
            .where(Publication.id == pub_id)
            .values(status="sent", external_id="x1", external_url="javascript:alert(1)")
        )
    page = client.get("/publications", headers={"Authorization": f"Bearer {issue_key('admin')}"})
    assert page.status_code == 200 and "x1" in page.text
    assert "javascript:alert" not in page.text


def test_a_bad_share_link_request_fails_instead_of_hanging(settings: Settings, secret: str) -> None:
    clip_id = make_clip(settings)
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.product = {**(clip.product or {}), "buy_url": "ftp://shop.example/p/1"}
    pub_id = _publish(settings, clip_id, make_webhook_target(settings, "http://127.0.0.1:9/h", secret))
    assert deliver(settings, pub_id) == "failed"
    row = publication(settings, pub_id)
    assert row.status == "failed" and row.error_code == "clip_error" and "buy_url" in (row.last_error or "")


def test_an_unwritable_export_folder_fails_instead_of_hanging(settings: Settings) -> None:
    from services.targets import create_target

    clip_id = make_clip(settings)
    with session_scope(settings.database_url) as session:
        target = create_target(settings, session, channel="export", name="pkg", config={})
        session.flush()
        pub_id = create_publication(settings, session, clip_id=clip_id, target_id=target.id).id
    (settings.media_root / "exports").write_text("a file where the folder should be")
    assert deliver(settings, pub_id) == "failed"
    assert publication(settings, pub_id).error_code == "file_error"


def test_an_unreachable_rate_store_retries_instead_of_hanging(tmp_path: Path, secret: str) -> None:
    settings = make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="redis://127.0.0.1:1/0")
    with WebhookStandIn(secret=secret) as standin:
        assert isinstance(standin, WebhookStandIn)
        pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
        assert deliver(settings, pub_id) == "retrying"
        assert standin.posts == []
    row = publication(settings, pub_id)
    assert row.status == "retrying" and row.error_code == "rate_storage" and row.attempts == 1


def _job(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        job = Job(kind="publish", status="running", stage="publish", options={})
        session.add(job)
        session.flush()
        return job.id


def test_a_stale_worker_cannot_overwrite_the_attempt_after_a_persons_retry(settings: Settings, secret: str) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, "http://127.0.0.1:9/h", secret))
    job_a, job_b = _job(settings), _job(settings)
    first = claim(settings, pub_id, job_id=job_a, now=utcnow())
    assert isinstance(first, Claim) and first.attempt == 1
    with session_scope(settings.database_url) as session:  # job A's worker looks dead (it is only slow)
        session.execute(update(Job).where(Job.id == job_a).values(status="failed"))
        session.execute(
            update(Publication).where(Publication.id == pub_id).values(sending_since=utcnow() - timedelta(hours=1))
        )
        assert expire_stuck_sending(settings, session) == [pub_id]
    with session_scope(settings.database_url) as session:
        retry_publication(session, pub_id)
    second = claim(settings, pub_id, job_id=job_b, now=utcnow())
    assert isinstance(second, Claim) and second.attempt == 1  # the same (status, attempts) as job A's
    assert _finish(first, settings, status="failed", error="job A's late answer") == "lost"
    row = publication(settings, pub_id)
    assert (row.status, row.job_id) == ("sending", job_b) and row.last_error != "job A's late answer"
    assert _finish(second, settings, status="retrying", due_in=1.0, error="boom") == "retrying"


def test_a_clash_remembering_uploads_never_undoes_the_sent_record(
    settings: Settings, secret: str, standin: WebhookStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def clash(*_args: Any, **_kwargs: Any) -> None:
        raise IntegrityError("INSERT INTO channel_media", {}, Exception("uq_channel_media_account_key"))

    monkeypatch.setattr(delivery, "remember_uploads", clash)
    monkeypatch.setattr(
        WebhookChannel, "exchange", _remembering(WebhookChannel.exchange), raising=True
    )  # a channel that gives an upload id
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    assert deliver(settings, pub_id) == "sent"
    assert publication(settings, pub_id).status == "sent" and len(standin.posts) == 1


def _remembering(exchange: Any) -> Any:
    def wrapped(self: Any, post: Any) -> Any:
        delivered = yield from exchange(self, post)
        return dataclasses.replace(delivered, remember={"webhook:file": "remote-1"})

    return wrapped


@pytest.mark.postgres
def test_two_workers_remembering_one_upload_at_once_both_succeed(postgres_url: str, tmp_path: Path) -> None:
    upgrade(postgres_url)
    settings = make_settings(tmp_path, database_url=postgres_url)
    adapter = WebhookChannel({"url": "https://hooks.example/x", "secret": "s"})
    errors: list[BaseException] = []
    with session_scope(postgres_url) as first:
        remember_uploads(first, adapter, "scope", {"webhook:file": "id-from-a"}, now=utcnow())

        def second() -> None:
            try:
                with session_scope(postgres_url) as other:
                    remember_uploads(other, adapter, "scope", {"webhook:file": "id-from-b"}, now=utcnow())
            except BaseException as exc:  # recorded for the assertion below
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # waits on the first's row (PostgreSQL), or clashed already (before the upsert)
    thread.join(10)
    assert errors == []
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(ChannelMedia.remote_id)).scalars().all()
        assert rows == ["id-from-b"]
        assert session.scalar(select(func.count(ChannelMedia.id))) == 1
