"""The export-package adapter: no HTTP, a ready-to-upload package per platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.channels.base import HttpRequest, get_adapter
from distribution.channels.export import ExportChannel, package_entries
from distribution.errors import ChannelRejected, InvalidChannelConfig
from tests.support.channel_driver import drive, make_post, media


def adapter(**config: str) -> ExportChannel:
    return ExportChannel(ExportChannel.check_config(config))


@pytest.fixture
def files(tmp_path: Path, small_mp4: Path) -> dict[str, object]:
    cover = tmp_path / "cover.jpeg"
    cover.write_bytes(b"\xff\xd8jpeg")
    poster = tmp_path / "poster-ann.png"
    poster.write_bytes(b"\x89PNG")
    return {
        "video": media(small_mp4),
        "cover": media(cover, content_type="image/jpeg"),
        "poster": media(poster, content_type="image/png"),
    }


def test_registered_and_config_checked() -> None:
    assert get_adapter("export") is ExportChannel
    assert ExportChannel.check_config({}) == {"platform": "wechat_channels"}
    assert ExportChannel.check_config({"platform": "xiaohongshu", "folder_name": "秒杀 clip-1"})["folder_name"]
    with pytest.raises(InvalidChannelConfig, match="wechat_channels, douyin, xiaohongshu, other"):
        ExportChannel.check_config({"platform": "kuaishou"})
    for bad in ("../up", "a/b", ".hidden", "x" * 81):
        with pytest.raises(InvalidChannelConfig, match="folder_name"):
            ExportChannel.check_config({"folder_name": bad})


def test_wechat_channels_package(files: dict[str, object], small_mp4: Path) -> None:
    post = make_post(**files)
    log: list[HttpRequest] = []
    delivered = drive(adapter(), post, log=log)
    assert log == [] and delivered.form == "package"
    package = delivered.package
    assert package is not None and package.folder == "wechat_channels-clip-1-leader-1-pub-1" == delivered.external_id
    assert sorted(package.files) == ["cover.jpg", "poster.png", "video.mp4"]
    assert package.files["video.mp4"].path == small_mp4
    assert package.texts["caption.txt"] == post.caption + "\n"
    assert package.texts["hashtags.txt"] == "#好物推荐\n#直播\n"
    readme = package.texts["README.txt"]
    assert "channels.weixin.qq.com" in readme and "180 秒" in readme and "180 s and 500 MB" in readme
    assert post.share_url in readme
    names = [name for name, _ in package_entries(package)]
    assert names == [
        "wechat_channels-clip-1-leader-1-pub-1/cover.jpg",
        "wechat_channels-clip-1-leader-1-pub-1/poster.png",
        "wechat_channels-clip-1-leader-1-pub-1/video.mp4",
        "wechat_channels-clip-1-leader-1-pub-1/README.txt",
        "wechat_channels-clip-1-leader-1-pub-1/caption.txt",
        "wechat_channels-clip-1-leader-1-pub-1/hashtags.txt",
        "wechat_channels-clip-1-leader-1-pub-1/title.txt",
    ]


def test_xiaohongshu_readme_warns_about_a_long_title_and_douyin_names_its_limits(files: dict[str, object]) -> None:
    post = make_post(title="这是一个超过二十个字的小红书标题，需要缩短一下才能发布", **files)
    package = drive(adapter(platform="xiaohongshu", folder_name="xhs"), post).package
    assert package is not None and package.folder == "xhs/pub-1"  # its own subfolder per publication
    readme = package.texts["README.txt"]
    assert "creator.xiaohongshu.com" in readme and "3:4 或 9:16" in readme and "over 20 characters" in readme
    douyin = drive(adapter(platform="douyin"), make_post(**files)).package
    assert douyin is not None and "15 min" in douyin.texts["README.txt"] and "15 分钟" in douyin.texts["README.txt"]
    assert "over 30" not in douyin.texts["README.txt"]


def test_a_video_over_the_platforms_size_is_flagged(files: dict[str, object], small_mp4: Path) -> None:
    post = make_post(video=media(small_mp4, size=600 * 1000 * 1000))
    package = drive(adapter(), post).package
    assert package is not None and "over 500 MB" in package.texts["README.txt"]
    assert sorted(package.files) == ["video.mp4"]


def test_a_caption_over_the_platforms_limit_is_refused() -> None:
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(platform="xiaohongshu"), make_post(caption="字" * 1001))
    assert refused.value.code == "caption_too_long" and "1000" in str(refused.value)
