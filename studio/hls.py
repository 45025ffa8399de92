"""Local HLS playlists: refuse anything that reaches outside the playlist's own folder.

ffmpeg's hls demuxer follows every URI a playlist names (other files, URLs, other
playlists). Before a playlist is opened we parse it ourselves and allow only plain
relative paths to files that exist inside the playlist's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import ProbeError, UnsafePlaylistError

__all__ = ["PLAYLIST_SUFFIXES", "is_playlist", "playlist_duration", "validate_playlist"]

PLAYLIST_SUFFIXES = (".m3u8", ".m3u")
MAX_PLAYLIST_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 4

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_URI_ATTR = re.compile(r'URI="([^"]*)"')
_EXTINF = re.compile(r"^#EXTINF:\s*([0-9.+\-eE]+)")
# Tags whose URI attribute names another playlist rather than a media file.
_PLAYLIST_URI_TAGS = ("#EXT-X-MEDIA:", "#EXT-X-I-FRAME-STREAM-INF:")
# Tags whose URI attribute names a media file that the demuxer reads.
_MEDIA_URI_TAGS = ("#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:")


@dataclass
class _Walk:
    root: Path
    segments: list[Path] = field(default_factory=list)
    seen_playlists: set[Path] = field(default_factory=set)


def is_playlist(path: Path) -> bool:
    """True when ``path`` looks like an HLS playlist: by suffix, or by its ``#EXTM3U`` header."""
    if path.suffix.lower() in PLAYLIST_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"#EXTM3U")


def validate_playlist(path: Path) -> list[Path]:
    """Check an HLS playlist (master or media) and return the media files it uses.

    Every URI (segment lines, ``URI="..."`` attributes of ``#EXT-X-KEY``, ``#EXT-X-MAP``,
    ``#EXT-X-MEDIA`` …, and variant playlists, checked recursively) must be a relative path
    with no scheme and no ``..`` that resolves, symlinks followed, to an existing file inside
    the playlist's folder. Returns the segment and init (``#EXT-X-MAP``) files, resolved,
    without duplicates, in playlist order. Raises :class:`UnsafePlaylistError` naming the
    offending line, or :class:`ProbeError` (``not_media``) when the file is no playlist.
    """
    top = Path(path).absolute()
    if not top.is_file():
        raise ProbeError(f"playlist not found: {top}", code="not_media")
    walk = _Walk(root=top.parent.resolve())
    _walk_playlist(top, walk, depth=0)
    return walk.segments


def playlist_duration(path: Path) -> float:
    """Sum of ``#EXTINF`` durations of the first media playlist (the first variant of a master)."""
    current = Path(path).absolute()
    for _ in range(MAX_DEPTH + 1):
        lines = _read_lines(current)
        total = 0.0
        variant: str | None = None
        expect_variant = False
        for line in lines:
            match = _EXTINF.match(line)
            if match:
                total += float(match.group(1))
            elif line.startswith("#EXT-X-STREAM-INF"):
                expect_variant = True
            elif expect_variant and line and not line.startswith("#"):
                variant = variant or line
                expect_variant = False
        if total > 0 or variant is None:
            return total
        current = current.parent / variant
    return 0.0


def _read_lines(path: Path) -> list[str]:
    try:
        if path.stat().st_size > MAX_PLAYLIST_BYTES:
            raise ProbeError(f"{path.name}: playlist is larger than {MAX_PLAYLIST_BYTES} bytes", code="not_media")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProbeError(f"{path.name}: playlist is not UTF-8 text ({exc})", code="not_media") from exc
    except OSError as exc:
        raise ProbeError(f"cannot read playlist {path}: {exc}", code="not_media") from exc
    return [line.strip() for line in text.splitlines()]


def _walk_playlist(playlist: Path, walk: _Walk, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnsafePlaylistError(f"{playlist.name}: playlists nest deeper than {MAX_DEPTH} levels")
    real = playlist.resolve()
    if real in walk.seen_playlists:
        raise UnsafePlaylistError(f"{playlist.name}: playlist includes itself (directly or through a variant)")
    walk.seen_playlists.add(real)
    lines = _read_lines(playlist)
    first = next((line for line in lines if line), "")
    if first != "#EXTM3U":
        raise ProbeError(f"{playlist.name} is not an HLS playlist: it does not start with #EXTM3U", code="not_media")

    variant_next = False
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#EXT-X-STREAM-INF"):
                variant_next = True
            for uri in _URI_ATTR.findall(line):
                target = _check_uri(uri, playlist, number, line, walk.root)
                if line.startswith(_PLAYLIST_URI_TAGS):
                    _walk_playlist(target, walk, depth + 1)
                elif line.startswith(_MEDIA_URI_TAGS):
                    _add_segment(walk, target)
            continue
        target = _check_uri(line, playlist, number, line, walk.root)
        if variant_next or target.suffix.lower() in PLAYLIST_SUFFIXES:
            _walk_playlist(target, walk, depth + 1)
        else:
            _add_segment(walk, target)
        variant_next = False


def _add_segment(walk: _Walk, target: Path) -> None:
    resolved = target.resolve()
    if resolved not in walk.segments:
        walk.segments.append(resolved)


def _check_uri(uri: str, playlist: Path, number: int, line: str, root: Path) -> Path:
    """The file ``uri`` names, relative to ``playlist``; raise if it is unsafe or missing."""

    def refuse(why: str) -> UnsafePlaylistError:
        shown = line if len(line) <= 200 else line[:200] + "…"
        return UnsafePlaylistError(
            f"{playlist.name} line {number}: {why} ({shown!r}); a playlist may only name files in its own folder"
        )

    if not uri:
        raise refuse("empty URI")
    if any(ord(ch) < 32 for ch in uri):
        raise refuse("URI contains control characters")
    if _SCHEME.match(uri):
        raise refuse(f"URI {uri!r} is a URL or names a protocol")
    if uri.startswith(("/", "\\")):
        raise refuse(f"URI {uri!r} is an absolute path")
    if ".." in re.split(r"[/\\]", uri):
        raise refuse(f"URI {uri!r} climbs out of the folder with '..'")
    target = playlist.parent / uri
    resolved = target.resolve()
    if not resolved.is_relative_to(root):
        raise refuse(f"URI {uri!r} resolves outside the playlist's folder (to {resolved})")
    if not resolved.is_file():
        raise refuse(f"URI {uri!r} names a file that does not exist")
    return target
