"""``liveslice doctor``: which ffmpeg, font, database, broker and storage are in use, and how to fix what is missing."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from runtime.config import Settings
from studio.errors import StudioError


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # works, but not as users will expect (does not fail the doctor)


def mask_url(url: str) -> str:
    """A URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not an SQLAlchemy URL (amqp://, redis://): drop the credentials part
        return url.split("@")[-1] if "@" in url else url


def check_ffmpeg(settings: Settings) -> Check:
    from studio.ffmpeg import ffmpeg_version, resolve_ffmpeg

    try:
        binary = resolve_ffmpeg(settings.ffmpeg or None)
    except StudioError as exc:
        return Check("ffmpeg", False, str(exc), "pip install imageio-ffmpeg, or set LIVESLICE_FFMPEG=/path/to/ffmpeg")
    origin = "LIVESLICE_FFMPEG" if (settings.ffmpeg or os.environ.get("LIVESLICE_FFMPEG")) else "imageio-ffmpeg"
    return Check("ffmpeg", True, f"{ffmpeg_version(binary)} ({origin}: {binary})")


def check_font(settings: Settings) -> Check:
    from studio.fonts import find_cjk_font

    try:
        font = find_cjk_font(settings.font)
    except StudioError as exc:
        return Check(
            "CJK font",
            False,
            str(exc),
            "pip install cvttf-NotoSansCJK-Regular, or apt-get install fonts-noto-cjk, or LIVESLICE_FONT=/path",
        )
    forms = "Simplified Chinese forms" if font.simplified else "Traditional Chinese forms"
    note = "" if font.simplified else " (install fonts-noto-cjk for Simplified forms)"
    return Check("CJK font", True, f"{font.family} via {font.source}, {forms}: {font.path}{note}")


def check_database(settings: Settings) -> Check:
    from store.db import current_revision, head_revision

    url = mask_url(settings.database_url)
    try:
        current = current_revision(settings.database_url)
        head = head_revision(settings.database_url)
    except SQLAlchemyError as exc:
        return Check(
            "database",
            False,
            f"{url}: cannot connect ({exc.__class__.__name__}: {exc})",
            "check LIVESLICE_DATABASE_URL and that the server is running",
        )
    if current is None and settings.is_sqlite:
        return Check("database", True, f"{url}: not created yet ('serve', 'demo' and 'db upgrade' create it)")
    if current != head:
        return Check(
            "database",
            False,
            f"{url}: schema at {current or 'empty'}, code expects {head}",
            "run 'liveslice db upgrade' ('liveslice serve' does it by itself on SQLite)",
        )
    return Check("database", True, f"{url} (schema {current})")


def check_broker(settings: Settings) -> Check:
    from runtime.broker import describe_broker

    info = describe_broker(settings)
    detail = f"{info['kind']}: {info['url']}"
    if info.get("note"):
        detail += f" — {info['note']}"
    return Check("broker", bool(info["ok"]), detail, str(info.get("fix") or ""))


def check_storage(settings: Settings) -> Check:
    if settings.storage == "s3":
        return check_s3_storage(settings)
    root = settings.media_root
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".doctor-write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "storage", False, f"local {root}: not writable ({exc})", "set LIVESLICE_MEDIA_ROOT to a writable folder"
        )
    free = shutil.disk_usage(root).free
    ok = free > settings.min_free_bytes
    fix = "" if ok else "free disk space or point LIVESLICE_MEDIA_ROOT at a larger disk"
    return Check("storage", ok, f"local {root}, {free / 1024**3:.1f} GB free", fix)


def check_s3_storage(settings: Settings) -> Check:
    """The bucket is reachable with the AWS chain's credentials, and the local cache has room."""
    from services.storage import AccessDenied, BucketNotFound, EndpointUnreachable, StorageError
    from services.storage.s3 import S3Storage

    try:
        storage = S3Storage.from_settings(settings, max_attempts=1)
        storage.check()
    except StorageError as exc:
        if isinstance(exc, BucketNotFound):
            fix = "create the bucket, or fix LIVESLICE_S3_BUCKET / LIVESLICE_S3_ENDPOINT_URL"
        elif isinstance(exc, AccessDenied):
            fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) allowed on the bucket"
        elif isinstance(exc, EndpointUnreachable):
            fix = "start the S3 server or fix LIVESLICE_S3_ENDPOINT_URL"
        else:
            fix = "check the LIVESLICE_S3_* settings"
        return Check("storage", False, f"s3: {exc}", fix)
    free = storage.free_bytes()
    ok = free > settings.min_free_bytes
    fix = "" if ok else "free disk space for the S3 working-copy cache under LIVESLICE_MEDIA_ROOT"
    detail = (
        f"{storage.describe()}, credentials from {storage.credential_source()}, "
        f"{free / 1024**3:.1f} GB free for working copies"
    )
    return Check("storage", ok, detail, fix)


def check_import_roots(settings: Settings) -> Check:
    if not settings.import_roots:
        return Check("import roots", True, "registering recordings by server path is off (LIVESLICE_IMPORT_ROOTS)")
    missing = [str(p) for p in settings.import_roots if not Path(p).is_dir()]
    if missing:
        return Check("import roots", False, f"missing folders: {', '.join(missing)}", "fix LIVESLICE_IMPORT_ROOTS")
    return Check("import roots", True, ", ".join(str(p) for p in settings.import_roots))


def check_public_url(settings: Settings) -> Check:
    """Share links and QR codes carry ``LIVESLICE_PUBLIC_BASE_URL``: a loopback one works on this machine only."""
    from liveslice.cli.common import is_loopback_url

    url = settings.public_base_url
    if is_loopback_url(url):
        return Check(
            "public URL",
            True,
            f"{url}: share links and QR codes only open on this machine",
            "set LIVESLICE_PUBLIC_BASE_URL to the address phones and customers reach this server at "
            "(e.g. https://clips.example.com)",
            warning=True,
        )
    return Check("public URL", True, f"{url} (share links and QR codes)")


def run_checks(settings: Settings) -> list[Check]:
    return [
        check_ffmpeg(settings),
        check_font(settings),
        check_database(settings),
        check_broker(settings),
        check_storage(settings),
        check_import_roots(settings),
        check_public_url(settings),
    ]
