"""The click log's pure rules: bot verdicts and reasons, in-app browsers, the hashed identity, unique visits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distribution.tracking import (
    BotDetector,
    PreviewAgent,
    identity,
    in_app_browser,
    is_unique_visit,
    parse_preview_agents,
    preview_agents,
)

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI Language/zh_CN"
)
WECOM = (
    "Mozilla/5.0 (Linux; Android 13; V2196A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/109.0 Mobile Safari/537.36 wxwork/4.1.16 MicroMessenger/7.0.1 NetType/WIFI Language/zh"
)
DOUYIN = "Mozilla/5.0 (Linux; Android 11; zh-CN) AppleWebKit/537.36 (KHTML, like Gecko) Mobile aweme/24.0"


@pytest.fixture(scope="module")
def detector() -> BotDetector:
    return BotDetector()


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        ("DingTalkBot-LinkService/1.0", "preview:dingtalk"),
        ("Mozilla/5.0 (compatible; Lark-Bot)", "preview:feishu"),
        ("LarkBot/1.0", "preview:feishu"),
        ("TelegramBot (like TwitterBot)", "preview:telegram"),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview:slack"),
        ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "preview:discord"),
        ("WhatsApp/2.23.20.0 A", "preview:whatsapp"),
        ("Twitterbot/1.0", "preview:twitter"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "preview:facebook"),
        (
            "Mozilla/5.0 (Linux; Android 5.0) (compatible; Bytespider; spider-feedback@bytedance.com)",
            "preview:bytedance",
        ),
        ("Go-http-client/1.1", "preview:go"),
        ("WeChatShareExtensionNew/8.0.40", "preview:wechat"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler"),
        ("python-requests/2.31.0", "crawler"),
        ("curl/8.5.0", "crawler"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36", "crawler"),
    ],
)
def test_preview_fetchers_and_crawlers_are_bots_with_a_reason(detector: BotDetector, agent: str, reason: str) -> None:
    verdict = detector.classify("GET", agent)
    assert verdict.bot and verdict.reason == reason


@pytest.mark.parametrize(
    ("agent", "app"), [(IPHONE_SAFARI, None), (WECHAT, "wechat"), (WECOM, "wecom"), (DOUYIN, None)]
)
def test_people_and_in_app_browsers_are_not_bots(detector: BotDetector, agent: str, app: str | None) -> None:
    verdict = detector.classify("GET", agent)
    assert not verdict.bot and verdict.reason is None and verdict.in_app == app
    assert in_app_browser(agent) == app


def test_head_is_a_bot_whatever_the_agent_and_an_empty_agent_is_one_too(detector: BotDetector) -> None:
    """X sends one GET and three HEADs with a browser's agent: the HEADs are caught by method."""
    assert detector.classify("HEAD", IPHONE_SAFARI).reason == "head"
    assert detector.classify("head", WECHAT).bot
    assert detector.classify("GET", "").reason == "no-agent"
    assert detector.classify("GET", None).reason == "no-agent"
    assert detector.classify("GET", "   ").reason == "no-agent"


def test_verdicts_are_cached_per_agent_in_a_bounded_lru() -> None:
    detector = BotDetector(cache_size=2)
    for agent in (IPHONE_SAFARI, IPHONE_SAFARI, WECHAT, IPHONE_SAFARI):
        detector.classify("GET", agent)
    assert detector.misses == 2  # the repeats came from the cache
    detector.classify("GET", DOUYIN)  # evicts WeChat (least recently used)
    detector.classify("GET", WECHAT)
    assert detector.misses == 4
    detector.classify("HEAD", "Anything/1.0")  # decided by method: no lookup at all
    assert detector.misses == 4


def test_the_packaged_list_parses_and_a_bad_line_names_its_number() -> None:
    agents = preview_agents()
    names = {agent.name for agent in agents}
    assert {"dingtalk", "feishu", "telegram", "slack", "discord", "whatsapp", "twitter", "facebook", "wechat"} <= names
    assert parse_preview_agents("# c\n\nfoo  Foo-Bot/  # trailing\nsnap Snap URL Preview\n") == (
        PreviewAgent("foo", "Foo-Bot/"),
        PreviewAgent("snap", "Snap URL Preview"),
    )
    with pytest.raises(ValueError, match=r"preview_agents\.txt:2"):
        parse_preview_agents("ok Token\nlonely\n")


def test_identity_is_a_salted_hash_without_the_ip() -> None:
    one = identity("salt", "203.0.113.9", IPHONE_SAFARI)
    assert len(one) == 64 and int(one, 16) >= 0 and "203.0.113.9" not in one
    assert one == identity("salt", "203.0.113.9", IPHONE_SAFARI)
    assert one != identity("other-salt", "203.0.113.9", IPHONE_SAFARI)
    assert one != identity("salt", "203.0.113.10", IPHONE_SAFARI)
    assert one != identity("salt", "203.0.113.9", WECHAT)


def test_a_visit_within_an_hour_of_the_last_unique_one_counts_once() -> None:
    start = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert is_unique_visit(None, start)
    assert not is_unique_visit(start, start + timedelta(minutes=59, seconds=59))
    assert is_unique_visit(start, start + timedelta(hours=1))
    assert not is_unique_visit(start, start - timedelta(minutes=1))  # out of order: not a new visitor
