"""Export package: for platforms with no public posting API (WeChat Channels 视频号) and for manual Douyin
or Xiaohongshu uploads, a ready-to-upload folder: the video, cover, poster, ``caption.txt``,
``hashtags.txt``, ``title.txt`` and a ``README.txt`` (Chinese and English) saying where to upload and the
platform's limits. No HTTP: :meth:`ExportChannel.exchange` yields nothing, and the services layer writes
the package (folder or zip) from :func:`package_entries`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from distribution.channels.base import (
    CaptionLimit,
    ChannelAdapter,
    ConfigField,
    Delivered,
    Exchange,
    ExportPackage,
    MediaFile,
    Post,
    register,
)
from distribution.errors import ChannelRejected, InvalidChannelConfig


@dataclass(frozen=True)
class Platform:
    """Where a package goes by hand, and what that platform takes (public help pages; kept conservative)."""

    name: str
    upload: str  # where to upload, in Chinese and English
    limits: str  # the video limits, in Chinese and English
    title_limit: int  # characters
    caption_limit: int  # characters
    video_bytes: int | None = None


MB = 1000 * 1000
# Title and description limits as the platforms' upload pages state them, rounded down where sources
# differ: Xiaohongshu notes take a 20-character title and a 1000-character body; Douyin's creator page a
# 30-character title and a 1000-character description; WeChat Channels a 6-16 character short title and a
# 1000-character description. Video limits from the design notes (§4).
PLATFORMS = {
    "wechat_channels": Platform(
        "微信视频号 WeChat Channels",
        "视频号助手 channels.weixin.qq.com（或手机微信：发现 → 视频号 → 发表）/ "
        "Upload at channels.weixin.qq.com (or in WeChat: Discover → Channels → Post)",
        "商品视频不超过 180 秒、500 MB；短标题 6-16 字 / Product videos up to 180 s and 500 MB; short title 6-16 chars",
        16,
        1000,
        500 * MB,
    ),
    "douyin": Platform(
        "抖音 Douyin",
        "抖音创作者中心 creator.douyin.com（或抖音 App：+ → 相册）/ "
        "Upload at creator.douyin.com (or in the Douyin app: + → Album)",
        "MP4，720p 以上，不超过 4 GB、15 分钟；避免站外二维码和水印 / "
        "MP4, 720p or above, up to 4 GB and 15 min; avoid outside QR codes and watermarks",
        30,
        1000,
        4000 * MB,
    ),
    "xiaohongshu": Platform(
        "小红书 Xiaohongshu",
        "小红书创作服务平台 creator.xiaohongshu.com（或小红书 App：+ → 视频）/ "
        "Upload at creator.xiaohongshu.com (or in the Xiaohongshu app: + → Video)",
        "竖屏 3:4 或 9:16；标题不超过 20 字，正文不超过 1000 字 / "
        "Portrait 3:4 or 9:16; title up to 20 chars, text up to 1000 chars",
        20,
        1000,
    ),
    "other": Platform(
        "其他平台 Other",
        "在目标平台手动上传 / Upload by hand on the platform of your choice",
        "请查看该平台的时长、大小和文字限制 / Check the platform's length, size and text limits",
        100,
        1000,
    ),
}
FOLDER = re.compile(r"^[\w][\w .\-]{0,79}$")


@register
class ExportChannel(ChannelAdapter):
    type = "export"
    label = "Export package (manual upload)"
    help = (
        "No account needed: each publication becomes a folder (video, cover, caption, hashtags, README) to "
        "upload by hand to WeChat Channels, Douyin or Xiaohongshu. platform: wechat_channels (default), "
        "douyin, xiaohongshu or other."
    )
    fields = (
        ConfigField("platform", "wechat_channels, douyin, xiaohongshu or other", required=False),
        ConfigField(
            "folder_name",
            "a folder to gather packages in (each publication gets its own subfolder; default: one folder "
            "per publication named by platform, clip, leader and publication)",
            required=False,
        ),
    )
    rates = ()
    # the strictest of the platforms' description limits; each platform's own is checked in exchange()
    caption_limit = CaptionLimit(1000, "chars")
    default_template = "{{ caption }}\n{{ share_url }}"

    @classmethod
    def validate(cls, config: dict[str, str], *, extra_hosts: Sequence[str]) -> None:
        platform = config.setdefault("platform", "wechat_channels")
        if platform not in PLATFORMS:
            raise InvalidChannelConfig(f"export: config.platform must be one of {', '.join(PLATFORMS)}")
        folder = config.get("folder_name")
        if folder is not None and (not FOLDER.match(folder) or ".." in folder):
            raise InvalidChannelConfig(
                "export: config.folder_name may hold letters, digits, spaces, '.', '_' and '-' "
                "(80 characters at most), and no path separators"
            )

    @property
    def platform(self) -> Platform:
        return PLATFORMS[self.config.get("platform") or "wechat_channels"]

    def account_key(self) -> str:
        return f"export:{self.config.get('platform') or 'wechat_channels'}"

    def exchange(self, post: Post) -> Exchange:
        package = self.package(post)
        yield from ()  # nothing to send: the I/O layer writes the package
        return Delivered(external_id=package.folder, form="package", package=package)

    def package(self, post: Post) -> ExportPackage:
        """The folder's files and texts; :class:`ChannelRejected` if the caption is over the platform's limit."""
        platform = self.platform
        if len(post.caption) > platform.caption_limit:
            raise ChannelRejected(
                f"export: the caption is {len(post.caption)} characters, over the {platform.caption_limit} "
                f"{platform.name} takes",
                code="caption_too_long",
            )
        files: dict[str, MediaFile] = {}
        for stem, media, default in (
            ("video", post.video, ".mp4"),
            ("cover", post.cover, ".jpg"),
            ("poster", post.poster, ".png"),
        ):
            if media is not None:
                files[stem + _suffix(media, default)] = media
        hashtags = [_hashtag(tag) for tag in post.hashtags if tag.strip().lstrip("#")]
        texts = {
            "caption.txt": post.caption.strip() + "\n",
            "hashtags.txt": "".join(f"{tag}\n" for tag in hashtags),
            "title.txt": post.title.strip() + "\n",
            "README.txt": self.readme(post, platform, video=post.video),
        }
        return ExportPackage(folder=self.folder(post), files=files, texts=texts)

    def folder(self, post: Post) -> str:
        """The package's folder, unique per publication so two packages never overwrite each other:
        ``<folder_name>/<publication>`` under a configured folder, else platform, clip, leader, publication."""
        own = _slug(post.publication_id)
        if self.config.get("folder_name"):
            return f"{self.config['folder_name']}/{own}"
        parts = [self.config.get("platform") or "wechat_channels", post.clip_id[:12]]
        if post.leader_id:
            parts.append(post.leader_id[:12])
        return _slug("-".join([*parts, own]), limit=120)

    def readme(self, post: Post, platform: Platform, *, video: MediaFile | None) -> str:
        lines = [
            f"{platform.name}",
            "",
            f"上传 / Upload: {platform.upload}",
            f"限制 / Limits: {platform.limits}",
            "文件 / Files: video（视频）, cover（封面）, poster（海报）, caption.txt（文案）, "
            "hashtags.txt（话题，每行一个 / one per line）, title.txt（标题 / title）",
            f"分享链接 / Share link: {post.share_url}",
        ]
        if len(post.title.strip()) > platform.title_limit:
            lines.append(
                f"注意：标题超过 {platform.title_limit} 字，请缩短 / "
                f"Note: the title is over {platform.title_limit} characters; shorten it"
            )
        if video is None:
            lines.append("注意：没有视频文件 / Note: no video file in this package")
        elif platform.video_bytes is not None and video.size > platform.video_bytes:
            lines.append(
                f"注意：视频 {video.size / MB:.0f} MB，超过 {platform.video_bytes // MB} MB / "
                f"Note: the video is {video.size / MB:.0f} MB, over {platform.video_bytes // MB} MB"
            )
        return "\n".join(lines) + "\n"


def package_entries(package: ExportPackage) -> list[tuple[str, MediaFile | str]]:
    """Every entry of ``package`` as (path inside the zip or folder, a stored file or a text), folder first."""
    entries: list[tuple[str, MediaFile | str]] = []
    for name, media in sorted(package.files.items()):
        entries.append((f"{package.folder}/{name}", media))
    for name, text in sorted(package.texts.items()):
        entries.append((f"{package.folder}/{name}", text))
    return entries


def _suffix(media: MediaFile, default: str) -> str:
    suffix = PurePosixPath(media.name).suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        return ".jpg" if suffix == ".jpeg" else suffix
    by_type = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}
    return by_type.get(media.content_type, default)


def _hashtag(tag: str) -> str:
    return "#" + tag.strip().lstrip("#").strip()


def _slug(text: str, limit: int = 80) -> str:
    return re.sub(r"[^\w.\-]+", "-", text).strip("-.")[:limit] or "clip"
