"""What one delivery sends: the :class:`~distribution.channels.base.Post` built from the publication (caption,
signed media URLs, local files, the leader's variant and share link, remembered uploads), plus the small
I/O helpers around it (remembered upload ids, the export package, scrubbing secrets out of error text)."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from distribution.channels.base import ChannelAdapter, ExportPackage, MediaFile, Post
from runtime.config import Settings
from services.captions import caption_for
from services.clip_requests import share_url_for
from services.errors import Busy, NotFound, ServiceError
from services.media_urls import content_type, signed_url
from services.storage import KeyNotFound, get_storage, local_copy
from services.targets import adapter_for, secret_values
from services.variants import ensure_variant
from store.db import session_scope
from store.models import ChannelMedia, ChannelTarget, Clip, ClipVariant, Leader, Publication, new_id, utcnow

Send = Callable[[Settings, str], bool]
#: How long a channel keeps an upload id (WeCom's media_id: 3 days; kept a margin shorter). Absent: forever.
UPLOAD_TTL: dict[str, timedelta] = {"wecom": timedelta(days=3) - timedelta(hours=1)}
_URL = re.compile(r"https?://[^\s\"'<>]+")
_BOT_TOKEN = re.compile(r"/bot[^/\s]+")


class VariantPending(Busy):
    """The leader's variant is being rendered; try again shortly (no attempt counted)."""

    code = "variant_pending"


class MissingClipMedia(NotFound):
    code = "missing_media"


@dataclass(frozen=True)
class Prepared:
    """A post ready to go, with the adapter configured for its target."""

    post: Post
    adapter: ChannelAdapter
    channel: str
    account: str
    secrets: list[str]
    memory_scope: str = ""  # the keyed hash upload ids are remembered under (see :func:`memory_scope`)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value removed and URLs cut to scheme, host and path (no query, no bot token)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "••••")

    def cut(match: re.Match[str]) -> str:
        url = match.group(0).split("?", 1)[0].split("#", 1)[0]
        return _BOT_TOKEN.sub("/bot••••", url)

    return _URL.sub(cut, text)[:2000]


def _media(settings: Settings, key: str | None, name: str) -> MediaFile | None:
    if not key:
        return None
    storage = get_storage(settings)
    try:
        size = storage.size(key)
        path = local_copy(settings, key)
    except KeyNotFound:
        raise MissingClipMedia(f"the clip's {name} is missing from storage") from None
    filename = f"{name}{PurePosixPath(key).suffix}"
    return MediaFile(
        url=signed_url(settings, key),
        name=filename,
        size=size,
        content_type=content_type(key),
        path=path,
        key=key,
    )


def _share_url(settings: Settings, session: Session, clip: Clip, variant: ClipVariant | None, channel: str) -> str:
    """The link this post carries: the share link for (clip, leader or none, channel), so each channel's
    clicks are counted apart; without a product link, the leader's or the clip's own."""
    buy_url = str((clip.product or {}).get("buy_url") or "") or None
    url = share_url_for(
        settings,
        clip_id=clip.id,
        leader_id=variant.leader_id if variant is not None else None,
        buy_url=buy_url,
        session=session,
        channel=channel,
    )
    return url or (variant.share_url if variant is not None else None) or clip.share_url or ""


def memory_scope(settings: Settings, channel: str, adapter: ChannelAdapter) -> str:
    """A keyed hash of where the adapter's upload ids are valid (:meth:`ChannelAdapter.memory_scope`):
    a Telegram bot's ``file_id`` is found again from another chat of the same bot."""
    message = f"media|{channel}|{adapter.memory_scope()}".encode()
    return hmac.new(settings.resolved_secret_key().encode(), message, hashlib.sha256).hexdigest()[:64]


def remembered(session: Session, adapter: ChannelAdapter, scope: str, media: list[MediaFile]) -> dict[str, str]:
    """The upload ids remembered under ``scope`` (:func:`memory_scope`) for ``media``, unexpired."""
    keys = [adapter.memory_key(m) for m in media]
    if not keys:
        return {}
    now = utcnow()
    rows = session.scalars(select(ChannelMedia).where(ChannelMedia.account == scope, ChannelMedia.media_key.in_(keys)))
    out = {}
    for row in rows:
        expires = (
            row.expires_at
            if row.expires_at is None or row.expires_at.tzinfo
            else row.expires_at.replace(tzinfo=now.tzinfo)
        )
        if expires is None or expires > now:
            out[row.media_key] = row.remote_id
    return out


def remember_uploads(
    session: Session, adapter: ChannelAdapter, scope: str, remember: Mapping[str, str], *, now: datetime
) -> None:
    """Keep the upload ids the channel gave, per memory scope and file, until they expire: one upsert per
    id, so two publications remembering the same file at once both succeed (the later id wins)."""
    ttl = UPLOAD_TTL.get(adapter.type)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for media_key, remote_id in remember.items():
        values = {"remote_id": remote_id, "created_at": now, "expires_at": now + ttl if ttl else None}
        insert = dialect.insert(ChannelMedia).values(id=new_id(), account=scope, media_key=media_key[:300], **values)
        session.execute(insert.on_conflict_do_update(index_elements=["account", "media_key"], set_=values))


def build_post(settings: Settings, publication_id: str, *, send: Send | None) -> Prepared:
    """The post for a claimed publication; the caption is stored on the publication (committed) first."""
    with session_scope(settings.database_url) as session:
        publication = session.get(Publication, publication_id)
        if publication is None:
            raise NotFound(f"publication {publication_id} is gone")
        clip = session.get(Clip, publication.clip_id)
        target = session.get(ChannelTarget, publication.target_id)
        if clip is None or target is None:
            raise NotFound("the publication's clip or target is gone")
        adapter = adapter_for(settings, target)
        secrets = secret_values(settings, target)
        scope = memory_scope(settings, target.type, adapter)
        leader = session.get(Leader, publication.leader_id) if publication.leader_id else None
        variant = None
        if leader is not None:
            variant = session.scalars(
                select(ClipVariant).where(ClipVariant.clip_id == clip.id, ClipVariant.leader_id == leader.id)
            ).first()
            if variant is None:
                raise NotFound(f"leader {leader.id} no longer has clip {clip.id}")
            if not variant.video_key or not variant.poster_key:
                ready = ensure_variant(settings, session, clip_id=clip.id, leader_id=leader.id, send=send or _no_send)
                if not ready:
                    raise VariantPending(f"the variant of clip {clip.id} for leader {leader.id} is rendering")
                session.refresh(variant)
        video = _media(settings, variant.video_key if variant else clip.video_key, "video")
        cover = _media(settings, clip.cover_key, "cover")
        poster = _media(settings, (variant.poster_key if variant else None) or clip.poster_key, "poster")
        files = [m for m in (video, cover, poster) if m is not None]
        # a clip whose product has no shop link still gets a link to tap: the (signed) video itself
        share_url = _share_url(settings, session, clip, variant, target.type) or (video.url if video else "")
        caption = caption_for(session, clip=clip, channel=target.type, share_url=share_url, leader=leader)
        publication.caption = caption
        post = Post(
            publication_id=publication.id,
            idempotency_key=publication.idempotency_key,
            clip_id=clip.id,
            title=clip.title or "",
            caption=caption,
            hashtags=tuple(clip.hashtags or ()),
            share_url=share_url,
            video=video,
            cover=cover,
            poster=poster,
            leader_id=leader.id if leader else None,
            leader_name=leader.name if leader else None,
            product=dict(clip.product or {}),
            remembered=remembered(session, adapter, scope, files),
        )
        return Prepared(post, adapter, target.type, target.account, secrets, scope)


def _no_send(settings: Settings, job_id: str) -> bool:
    return False  # in-process callers without a queue: the reconciler sends the render job


def write_package(settings: Settings, package: ExportPackage) -> Path:
    """Write an export package under ``<media root>/exports/<folder>`` (whole or not at all). The folder is
    the publication's own (:meth:`ExportChannel.folder`); only a package of that same publication (an
    earlier attempt) is replaced, and only once the new one is complete."""
    folder = PurePosixPath(package.folder)
    if not package.folder or folder.is_absolute() or any(p in ("", ".", "..") for p in folder.parts):
        raise ServiceError(f"bad export folder name {package.folder!r}")
    root = settings.media_root / "exports"
    root.mkdir(parents=True, exist_ok=True)
    final = root / folder
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
    try:
        for name, media in package.files.items():
            if media.path is None or "/" in name or name in ("", ".", ".."):
                raise ServiceError(f"export file {name!r} has no local file or a bad name")
            shutil.copyfile(media.path, tmp / name)
        for name, text in package.texts.items():
            if "/" in name or name in ("", ".", ".."):
                raise ServiceError(f"bad export file name {name!r}")
            (tmp / name).write_text(text, encoding="utf-8")
        final.parent.mkdir(parents=True, exist_ok=True)
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=root))
            final.rename(old / "package")  # moved aside, not deleted, until the new one is in place
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
