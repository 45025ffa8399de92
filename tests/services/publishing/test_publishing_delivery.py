"""The delivery engine against the signed-webhook stand-in: sent, throttled, 5xx, stalls, crashes, resend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from liveslice.standins.base import Fault
from liveslice.standins.webhook import WebhookStandIn
from pipeline.publishing import reconcile_publications, run_publish_job
from runtime.config import Settings
from services.media_urls import read_token
from services.publishing import create_publication, retry_publication
from store.db import session_scope
from store.models import Job, Publication, ShareLink, utcnow
from store.share_links import find_link
from tests.support.publishing import drain, make_clip, make_webhook_target, publication, run_due


def _publish(settings: Settings, clip_id: str, target_id: str, **kwargs: object) -> str:
    with session_scope(settings.database_url) as session:
        return create_publication(settings, session, clip_id=clip_id, target_id=target_id, **kwargs).id  # type: ignore[arg-type]


def test_a_publication_reaches_sent_with_the_caption_it_sent(
    settings: Settings, standin: WebhookStandIn, secret: str
) -> None:
    clip_id = make_clip(settings)
    pub_id = _publish(settings, clip_id, make_webhook_target(settings, standin.url, secret))
    assert publication(settings, pub_id).status == "pending"
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    row = publication(settings, pub_id)
    assert len(standin.posts) == 1
    post = standin.posts[0]
    assert row.caption == post["caption"] and "Silk scarf" in row.caption and "#scarf" in row.caption
    assert row.external_id == row.idempotency_key == post["id"] and row.attempts == 1 and row.sent_at
    # the media URLs are signed, public and point at the clip's stored files
    assert read_token(settings, post["video"]["url"].rsplit("/m/", 1)[1]) == f"clips/{clip_id}/video.mp4"
    assert read_token(settings, post["poster"]["url"].rsplit("/m/", 1)[1]) == f"clips/{clip_id}/poster.jpg"


def test_a_429_with_retry_after_is_honoured_then_sent(settings: Settings, standin: WebhookStandIn, secret: str) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    standin.fail_next(Fault.THROTTLE, retry_after=2)
    before = utcnow()
    run_due(settings)
    row = publication(settings, pub_id)
    assert row.status == "retrying" and row.attempts == 1 and row.error_code == "rate_limited"
    assert row.due_at is not None and row.due_at.replace(tzinfo=before.tzinfo) >= before + timedelta(seconds=2)
    run_due(settings)  # not due yet: nothing is sent
    assert publication(settings, pub_id).status == "retrying" and standin.posts == []
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    assert len(standin.posts) == 1 and publication(settings, pub_id).attempts == 2


def test_a_5xx_is_retried_then_sent(settings: Settings, standin: WebhookStandIn, secret: str) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    standin.fail_next(Fault.ERROR, count=2, status=503)
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    row = publication(settings, pub_id)
    assert row.attempts == 3 and len(standin.posts) == 1 and row.last_error is None


def test_a_stall_after_the_post_left_is_unknown_and_never_resent(
    settings: Settings, standin: WebhookStandIn, secret: str
) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    standin.fail_next(Fault.STALL, stall=2.5)
    run_due(settings, request_timeout=0.5)
    row = publication(settings, pub_id)
    assert row.status == "unknown" and row.error_code == "outcome_unknown" and "retry" in (row.last_error or "")
    assert len(standin.posts) == 1
    for _ in range(3):  # the dispatcher and the reconciler never send it again on their own
        assert run_due(settings) == []
    assert len(standin.posts) == 1 and publication(settings, pub_id).status == "unknown"
    # a person checked the group and clicks retry: a new idempotency key, one more post
    old_key = row.idempotency_key
    with session_scope(settings.database_url) as session:
        retry_publication(session, pub_id)
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    assert len(standin.posts) == 2 and standin.posts[1]["id"] != old_key


def test_a_connection_refused_is_retried(settings: Settings, secret: str) -> None:
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/hooks/liveslice", secret)
    pub_id = _publish(settings, make_clip(settings), target_id)
    run_due(settings)
    row = publication(settings, pub_id)
    assert row.status == "retrying" and row.error_code == "network" and "could not connect" in (row.last_error or "")


def test_a_rejection_fails_without_leaking_the_secret(settings: Settings, standin: WebhookStandIn) -> None:
    from tests.support.publishing import new_webhook_secret

    wrong = new_webhook_secret()  # the receiver checks the signature with another secret: 401
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, wrong))
    run_due(settings)
    row = publication(settings, pub_id)
    assert row.status == "failed" and row.error_code == "http_401"
    assert wrong not in (row.last_error or "") and wrong[6:] not in (row.last_error or "")


def test_a_worker_crash_mid_send_becomes_unknown(settings: Settings, standin: WebhookStandIn, secret: str) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    with session_scope(settings.database_url) as session:
        job = Job(kind="publish", status="running", options={"publication_id": pub_id})
        job.heartbeat_at = utcnow() - timedelta(hours=1)
        session.add(job)
        session.flush()
        session.execute(
            update(Publication)
            .where(Publication.id == pub_id)
            .values(status="sending", attempts=1, job_id=job.id, sending_since=utcnow() - timedelta(minutes=10))
        )
    report = reconcile_publications(settings, lambda *a, **k: True)
    assert report.unknown == [pub_id] and report.started == []
    assert publication(settings, pub_id).status == "unknown" and standin.posts == []


def test_a_redelivered_job_of_a_sending_publication_does_not_resend(
    settings: Settings, standin: WebhookStandIn, secret: str
) -> None:
    pub_id = _publish(settings, make_clip(settings), make_webhook_target(settings, standin.url, secret))
    with session_scope(settings.database_url) as session:
        job = Job(kind="publish", status="queued", options={"publication_id": pub_id})
        session.add(job)
        session.flush()
        job_id = job.id
        session.execute(
            update(Publication).where(Publication.id == pub_id).values(status="sending", attempts=1, job_id=job_id)
        )
    outcome = run_publish_job(settings, job_id)
    assert outcome.result == {"publication_id": pub_id, "status": "unknown"}
    assert standin.posts == []


def test_a_leader_publication_uses_the_leader_share_link_and_variant(
    settings: Settings, standin: WebhookStandIn, secret: str
) -> None:
    from store.leaders import create_leader

    with session_scope(settings.database_url) as session:
        leader_id = create_leader(session, name="Ann").id
    clip_id = make_clip(settings, leaders=[leader_id])
    target_id = make_webhook_target(settings, standin.url, secret, leader_id=leader_id)
    pub_id = _publish(settings, clip_id, target_id)  # the target's leader is used
    assert publication(settings, pub_id).leader_id == leader_id
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    with session_scope(settings.database_url) as session:
        link = find_link(session, clip_id=clip_id, leader_id=leader_id, channel="webhook")
        assert isinstance(link, ShareLink)
        code = link.code
    post = standin.posts[0]
    assert post["share_url"] == f"{settings.public_base_url}/s/{code}"
    assert post["share_url"] in (publication(settings, pub_id).caption or "")
    assert post["leader"] == {"id": leader_id, "name": "Ann"}
    assert read_token(settings, post["video"]["url"].rsplit("/m/", 1)[1]) == f"clips/{clip_id}/v-{leader_id}.mp4"
    assert read_token(settings, post["poster"]["url"].rsplit("/m/", 1)[1]) == f"clips/{clip_id}/p-{leader_id}.jpg"
