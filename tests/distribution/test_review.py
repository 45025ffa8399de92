"""The advertising-law lint: absolute and medical terms block, claims needing proof warn, allowed words pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distribution.review import Coupon, InvalidHashtags, clean_hashtags, default_rules, lint, load_rules

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def terms(report_findings: list) -> list[tuple[str, str, int]]:
    return [(f.term, f.field, f.start) for f in report_findings]


def test_absolute_and_medical_terms_are_errors_with_their_place_and_rule() -> None:
    report = lint(title="全网第一面霜", caption="用了就是最好的，还能治疗失眠")
    assert terms(report.errors) == [
        ("全网第一", "title", 0),
        ("最好", "caption", 4),
        ("治疗", "caption", 10),
        ("失眠", "caption", 12),
    ]
    first = report.errors[0]
    assert first.rule == "absolute" and "第九条" in first.law and first.zh and "absolute" in first.en
    assert report.errors[2].rule == "medical" and "第十七条" in report.errors[2].law
    assert "caption: 最好 (absolute)" in report.summary()


def test_a_bare_zui_and_di_yi_are_found_but_allowed_words_are_not() -> None:
    assert terms(lint(title="最", caption="第一").errors) == [("最", "title", 0), ("第一", "caption", 0)]
    clean = lint(title="最近上新", caption="第一次直播，最后一天，100%纯棉")
    assert clean.findings == []


def test_longest_term_wins_and_is_reported_once() -> None:
    report = lint(title="", caption="史上最低价")
    assert terms(report.findings) == [("史上最低价", "caption", 0)]


def test_latin_terms_match_case_insensitively_and_hashtags_are_linted() -> None:
    report = lint(title="No.1 cream", caption="", hashtags=["护肤", "顶级"])
    assert [(f.term, f.field, f.item) for f in report.errors] == [("No.1", "title", None), ("顶级", "hashtags", 1)]


def test_claims_needing_proof_warn_and_sales_words_pass() -> None:
    report = lint(title="限时秒杀", caption="纯天然配方")
    assert report.errors == [] and terms(report.warnings) == [("纯天然", "caption", 0)]


def test_expired_coupon_blocks_when_mentioned_and_warns_otherwise() -> None:
    expired = Coupon("满99减10", NOW - timedelta(hours=1))
    blocked = lint(title="好物", caption="下单用满99减10", coupon=expired, now=NOW)
    assert [(f.term, f.rule, f.field) for f in blocked.errors] == [("满99减10", "coupon_expired", "caption")]
    quiet = lint(title="好物", caption="快来看", coupon=expired, now=NOW)
    assert quiet.errors == [] and [f.rule for f in quiet.warnings] == ["coupon_expired"]
    valid = lint(title="好物", caption="用券更省", coupon=Coupon("满99减10", NOW + timedelta(days=1)), now=NOW)
    assert valid.findings == []


def test_hashtags_are_cleaned_deduplicated_and_limited() -> None:
    assert clean_hashtags(["#护肤", "＃护肤", " 直播 ", "Sale", "sale", ""]) == ["护肤", "直播", "Sale"]
    with pytest.raises(InvalidHashtags, match="space"):
        clean_hashtags(["two words"])
    with pytest.raises(InvalidHashtags, match="at most 10"):
        clean_hashtags([f"t{i}" for i in range(11)])


def test_the_terms_file_is_extendable_and_checked() -> None:
    rules = load_rules('[[rule]]\nid = "x"\nseverity = "warning"\nterms = ["爆款"]\n')
    assert terms(lint(title="爆款", caption="", rules=rules).warnings) == [("爆款", "title", 0)]
    with pytest.raises(Exception, match="severity"):
        load_rules('[[rule]]\nid = "x"\nseverity = "fatal"\nterms = ["a"]\n')
    assert {r.id for r in default_rules()} >= {"absolute", "medical", "caution"}
