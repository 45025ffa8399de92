"""The leader portal over HTTP: sign-in, only one's own clips, Chinese by default, the WeChat hint,
403 for other keys, and the media route's ``?download=1``."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from urllib.parse import quote

from fastapi.testclient import TestClient

from runtime.config import Settings
from services.storage import get_storage
from store import db, share_links
from tests.support.portal_clips import TwoLeaders

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def sign_in(client: TestClient, secret: str) -> None:
    response = client.post("/portal/login", data={"key": secret}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/portal"


def test_without_a_key_the_portal_asks_for_one_in_chinese(client: TestClient) -> None:
    response = client.get("/portal", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/portal/login"
    form = client.get("/portal/login")
    assert '<html lang="zh-CN">' in form.text and "团长专区" in form.text and "你的密钥" in form.text
    bad = client.post("/portal/login", data={"key": "lsk_nope_nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "该密钥不存在或已被撤销" in bad.text
    empty = client.post("/portal/login", data={"key": " "}, follow_redirects=False)
    assert empty.status_code == 401 and "请粘贴你的密钥" in empty.text


def test_a_leader_sees_only_their_own_clips(
    client: TestClient, issue_key: Callable[..., str], two_leaders: TwoLeaders, settings: Settings
) -> None:
    sign_in(client, issue_key("leader", "ann", leader_id="ann"))
    page = client.get("/portal")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="zh-CN">' in html and "安团长，你好" in html and "1 条视频可以分享" in html
    ann, bo = two_leaders.ann, two_leaders.bo
    assert f"/media/clips/{ann.clip_id}/clip.ann.mp4" in html
    assert f"/media/clips/{ann.clip_id}/poster.ann.png" in html
    assert bo.clip_id not in html and "Bo&#39;s only clip" not in html and "Bo caption" not in html
    assert re.search(r"<video[^>]* playsinline webkit-playsinline", html)
    assert f'href="/media/clips/{ann.clip_id}/clip.ann.mp4?download=1"' in html
    assert "复制文案" in html and "下载视频" in html and 'data-copied="已复制"' in html
    assert "<b>不要错过</b>" not in html  # the caption is escaped
    caption = unescape(re.search(r'<textarea class="p-caption"[^>]*>(.*?)</textarea>', html, re.S).group(1))
    with db.session_scope(settings.database_url) as session:
        link = share_links.find_link(session, clip_id=ann.clip_id, leader_id="ann")
        assert link is not None and link.target_url == "https://shop.example/item/1"
        code = link.code
    assert caption == f"今晚直播同款，限时优惠 <b>不要错过</b>\n#春装 #直播\n{settings.public_base_url}/s/{code}"
    again = client.get("/portal")  # the link is made once and reused
    assert f"/s/{code}" in again.text


def test_english_on_request(client: TestClient, issue_key: Callable[..., str], two_leaders: TwoLeaders) -> None:
    sign_in(client, issue_key("leader", "bo", leader_id="bo"))
    page = client.get("/portal", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in page.text and "Hello, Bo" in page.text and "Copy caption" in page.text
    assert "Bo caption" in page.text and two_leaders.ann.clip_id not in page.text
    client.get("/lang/zh-CN?next=/portal", follow_redirects=False)
    assert "复制文案" in client.get("/portal", headers={"Accept-Language": "en"}).text


def test_in_wechat_the_download_gives_way_to_a_hint(
    client: TestClient, issue_key: Callable[..., str], two_leaders: TwoLeaders
) -> None:
    sign_in(client, issue_key("leader", "ann", leader_id="ann"))
    for agent in (WECHAT_UA, WECHAT_UA.replace("MicroMessenger", "wxwork")):
        html = client.get("/portal", headers={"User-Agent": agent}).text
        assert "?download=1" not in html and "下载视频" not in html
        assert "点击右上角 ··· 选择「在浏览器打开」即可下载" in html and "长按海报保存到相册" in html
        assert re.search(r'<img src="/media/clips/[^"]+/poster\.ann\.png"', html)


def test_other_keys_get_a_page_saying_the_portal_is_for_leaders(
    client: TestClient, issue_key: Callable[..., str], login: Callable[..., TestClient]
) -> None:
    admin = issue_key("admin")
    refused = client.post("/portal/login", data={"key": admin}, follow_redirects=False)
    assert refused.status_code == 403 and "本专区仅供团长使用" in refused.text and "set-cookie" not in refused.headers
    login("merchant")
    page = client.get("/portal")
    assert page.status_code == 403 and "本专区仅供团长使用" in page.text and "merchant" in page.text


def test_sign_out(client: TestClient, issue_key: Callable[..., str], two_leaders: TwoLeaders) -> None:
    sign_in(client, issue_key("leader", "ann", leader_id="ann"))
    out = client.post("/portal/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/portal/login"
    assert client.get("/portal", follow_redirects=False).status_code == 303


def test_download_names_the_file_after_the_title(
    client: TestClient, issue_key: Callable[..., str], two_leaders: TwoLeaders, settings: Settings
) -> None:
    sign_in(client, issue_key("leader", "ann", leader_id="ann"))
    ann = two_leaders.ann
    url = f"/media/clips/{ann.clip_id}/clip.ann.mp4"
    plain = client.get(url)
    assert plain.status_code == 200 and "content-disposition" not in plain.headers
    got = client.get(url + "?download=1")
    assert got.status_code == 200 and got.content == get_storage(settings).read_bytes(ann.video_key)
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote('春季新品 连衣裙.mp4', safe='')}" in disposition
    head = client.head(url + "?download=1")
    assert head.headers["content-disposition"] == disposition
    other = client.get(f"/media/clips/{two_leaders.bo.clip_id}/clip.bo.mp4?download=1")
    assert other.status_code == 404  # another leader's video stays out of reach


def test_attachment_header_is_safe() -> None:
    from api.routers.clips import attachment

    header = attachment('a/b\\c"d\r\n%e', ".mp4")
    assert "\r" not in header and "\n" not in header and "/" not in header.split("filename*=")[1].replace("%2F", "")
    assert header == "attachment; filename=\"a b c d e.mp4\"; filename*=UTF-8''a%20b%20c%20d%20%25e.mp4"
    assert (
        attachment("连衣裙", ".mp4")
        == "attachment; filename=\"clip.mp4\"; filename*=UTF-8''%E8%BF%9E%E8%A1%A3%E8%A3%99.mp4"
    )
