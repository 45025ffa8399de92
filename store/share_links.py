"""Share links: short unguessable codes behind ``/s/{code}``, one per (clip, leader, channel).

A link redirects only to its stored ``target_url`` (the product's buy_url), never to anything taken
from a request. Codes come from :mod:`secrets` over an alphabet without look-alike characters; an
insert that collides on the code (or loses a race for the same binding) is retried in a savepoint.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidedata.catalog import check_http_url
from store.errors import ShareLinkError
from store.models import Leader, ShareLink, utcnow

#: lower-case letters and digits less the look-alikes 0/o, 1/l/i: survives case-folding chat apps
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes (~49.5 bits): not enumerable at any request rate we serve
CODE_PATTERN = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_ATTEMPTS = 8


def new_code() -> str:
    """A fresh random code, e.g. ``k7mq2xwz9d``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    """Whether ``text`` could be a code at all (checked before any database lookup)."""
    return bool(CODE_PATTERN.match(text))


def check_target_url(url: str) -> str:
    """``url`` trimmed, when it is an http(s) URL with a host and no control characters; else ShareLinkError."""
    value = (url or "").strip()
    if not value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ShareLinkError(f"a share link's target must be an http(s) URL, got {url!r}")
    try:
        check_http_url(value)
    except ValueError as exc:
        raise ShareLinkError(f"a share link's target: {exc}") from exc
    return value


def find_link(
    session: Session, *, clip_id: str, leader_id: str | None = None, channel: str | None = None
) -> ShareLink | None:
    """The link bound to (clip, leader, channel), disabled or not."""
    query = select(ShareLink).where(
        ShareLink.clip_id == clip_id,
        ShareLink.leader_id.is_(None) if leader_id is None else ShareLink.leader_id == leader_id,
        ShareLink.channel.is_(None) if channel is None else ShareLink.channel == channel,
    )
    return session.scalars(query).first()


def get_or_create_link(
    session: Session,
    *,
    clip_id: str,
    leader_id: str | None = None,
    variant_id: str | None = None,
    channel: str | None = None,
    target_url: str,
) -> ShareLink:
    """The link for (clip, leader, channel), made on first use; flushed, not committed.

    Idempotent: the same binding always returns the same row and code. When the catalog's URL has
    changed since, the stored target follows it (old QR codes keep working and lead to the new page).
    A disabled link stays disabled. Raises :class:`ShareLinkError` for a target that is not http(s), or a
    leader that is not a row.
    """
    target = check_target_url(target_url)
    if leader_id is not None and session.get(Leader, leader_id) is None:
        raise ShareLinkError(f"no leader {leader_id!r}: a share link belongs to a leader row")
    for _attempt in range(MAX_ATTEMPTS):
        link = find_link(session, clip_id=clip_id, leader_id=leader_id, channel=channel)
        if link is not None:
            link.target_url = target
            if variant_id is not None:
                link.variant_id = variant_id
            session.flush()
            return link
        link = ShareLink(
            code=new_code(),
            clip_id=clip_id,
            leader_id=leader_id,
            variant_id=variant_id,
            channel=channel,
            target_url=target,
        )
        try:
            with session.begin_nested():
                session.add(link)
        except IntegrityError:
            continue  # the code was taken, or another worker bound this (clip, leader, channel) first
        return link
    raise ShareLinkError(f"no free share code after {MAX_ATTEMPTS} tries")


def resolve(session: Session, code: str) -> ShareLink | None:
    """The active link with ``code`` (one indexed lookup); None when unknown, malformed or disabled."""
    if not is_code(code):
        return None
    return session.scalars(select(ShareLink).where(ShareLink.code == code, ShareLink.disabled_at.is_(None))).first()


def disable_link(session: Session, *, code: str) -> bool:
    """Stop a link from redirecting (its QR codes then show the not-found page); False when unknown."""
    link = session.scalars(select(ShareLink).where(ShareLink.code == code)).first()
    if link is None:
        return False
    if link.disabled_at is None:
        link.disabled_at = utcnow()
        session.flush()
    return True


def attach_variants(session: Session, *, clip_id: str, variant_ids: Mapping[str, str]) -> None:
    """Record which :class:`~store.models.ClipVariant` each leader's link belongs to (leader id -> variant id)."""
    links = session.scalars(select(ShareLink).where(ShareLink.clip_id == clip_id, ShareLink.leader_id.is_not(None)))
    for link in links:
        variant_id = variant_ids.get(link.leader_id or "")
        if variant_id is not None and link.variant_id != variant_id:
            link.variant_id = variant_id
    session.flush()
