"""Review before sharing: lint a clip's title, caption and hashtags against advertising-law terms.

The terms live in a data file (``distribution/data/ad_terms.toml``, its format at its top): absolute
terms (最, 第一, 国家级…) and medical or efficacy claims are errors that block approval; claims that need
proof (纯天然…) are warnings. A product coupon that has expired is an error when the text mentions the
coupon (the post would promise what the shop no longer honours) and a warning otherwise (the product
card burned into the video may still show it: re-render the clip or remove the coupon).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

from distribution.errors import DistributionError

Severity = Literal["error", "warning"]
MAX_HASHTAGS = 10
MAX_HASHTAG_CHARS = 40
COUPON_WORDS = ("优惠券", "券", "coupon", "满减", "立减")
_HASH = "#＃"


class ReviewError(DistributionError):
    """A review's input cannot be checked (bad hashtags, a broken terms file)."""


class InvalidHashtags(ReviewError):
    """A hashtag is empty after cleaning, holds a space, is too long, or there are too many."""


@dataclass(frozen=True)
class Rule:
    """One kind of finding from the terms file."""

    id: str
    severity: Severity
    law: str
    zh: str
    en: str
    terms: tuple[str, ...]
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A term found in one field: ``start``/``end`` index the field's text (for a hashtag, that tag's)."""

    term: str
    field: str
    start: int
    end: int
    severity: Severity
    rule: str
    law: str
    zh: str
    en: str
    item: int | None = None  # which hashtag

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["position"] = self.start
        if self.item is None:
            del data["item"]
        return data


@dataclass(frozen=True)
class Coupon:
    """The clip's product coupon and when it expires (timezone-aware)."""

    text: str | None
    expires: datetime | None


@dataclass
class LintReport:
    """Every finding, errors first by field and position."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def summary(self) -> str:
        """One line naming each blocking term, e.g. ``caption: 最 (absolute); title: 第一 (absolute)``."""
        return "; ".join(f"{f.field}: {f.term} ({f.rule})" for f in self.errors)


def load_rules(text: str) -> tuple[Rule, ...]:
    """Parse a terms file (TOML, see ``ad_terms.toml``); :class:`ReviewError` names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReviewError(f"the advertising terms file is not valid TOML: {exc}") from exc
    rules: list[Rule] = []
    for index, raw in enumerate(data.get("rule") or [], 1):
        severity = raw.get("severity")
        if severity not in ("error", "warning"):
            raise ReviewError(f"rule {index}: severity must be 'error' or 'warning', not {severity!r}")
        terms = tuple(str(t) for t in raw.get("terms") or [] if str(t).strip())
        if not raw.get("id") or not terms:
            raise ReviewError(f"rule {index}: an id and at least one term are required")
        rules.append(
            Rule(
                id=str(raw["id"]),
                severity=severity,
                law=str(raw.get("law", "")),
                zh=str(raw.get("zh", "")),
                en=str(raw.get("en", "")),
                terms=terms,
                allow=tuple(str(t) for t in raw.get("allow") or []),
            )
        )
    return tuple(rules)


@cache
def default_rules() -> tuple[Rule, ...]:
    """The rules shipped in ``distribution/data/ad_terms.toml``."""
    text = resources.files("distribution").joinpath("data/ad_terms.toml").read_text(encoding="utf-8")
    return load_rules(text)


def _allowed_spans(folded: str, rule: Rule) -> list[tuple[int, int]]:
    spans = []
    for word in rule.allow:
        word = word.casefold()
        spans += [(m.start(), m.start() + len(word)) for m in re.finditer(re.escape(word), folded)]
    return spans


def find_terms(text: str, field_name: str, rules: Sequence[Rule], *, item: int | None = None) -> list[Finding]:
    """The terms of ``rules`` in ``text``: the longest at each position, none inside an allowed word or
    inside a longer finding."""
    folded = text.casefold()
    candidates: list[tuple[int, int, Rule]] = []
    for rule in rules:
        allowed = _allowed_spans(folded, rule)
        for term in rule.terms:
            needle = term.casefold()
            for match in re.finditer(re.escape(needle), folded):
                start, end = match.start(), match.start() + len(needle)
                if any(a <= start and end <= b for a, b in allowed):
                    continue
                candidates.append((start, end, rule))
    candidates.sort(key=lambda c: (c[0], -(c[1] - c[0]), c[2].severity != "error"))
    findings: list[Finding] = []
    covered_to = -1
    for start, end, rule in candidates:
        if end <= covered_to:
            continue  # inside a finding already made ("最低" within "全网最低")
        covered_to = max(covered_to, end)
        findings.append(
            Finding(text[start:end], field_name, start, end, rule.severity, rule.id, rule.law, rule.zh, rule.en, item)
        )
    return findings


def clean_hashtags(tags: Sequence[str]) -> list[str]:
    """Tags without their leading ``#``, trimmed, deduplicated (case-insensitively, first kept); at most
    :data:`MAX_HASHTAGS`, none holding a space. Raises :class:`InvalidHashtags` naming the tag."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in tags:
        tag = str(raw).strip().lstrip(_HASH).strip()
        if not tag:
            continue
        if any(ch.isspace() for ch in tag):
            raise InvalidHashtags(f"hashtag {raw!r} holds a space: one word per tag")
        if any(ch in _HASH for ch in tag):
            raise InvalidHashtags(f"hashtag {raw!r} holds a '#': give each tag separately")
        if len(tag) > MAX_HASHTAG_CHARS:
            raise InvalidHashtags(f"hashtag {raw!r} is longer than {MAX_HASHTAG_CHARS} characters")
        if tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        cleaned.append(tag)
    if len(cleaned) > MAX_HASHTAGS:
        raise InvalidHashtags(f"{len(cleaned)} hashtags: at most {MAX_HASHTAGS}")
    return cleaned


def _coupon_findings(texts: Sequence[tuple[str, int | None, str]], coupon: Coupon, now: datetime) -> list[Finding]:
    if not coupon.text or coupon.expires is None or coupon.expires > now:
        return []
    when = coupon.expires.isoformat(timespec="minutes")
    rule, law = "coupon_expired", "《广告法》第二十八条"
    needles = [coupon.text, *COUPON_WORDS]
    for name, item, text in texts:
        folded = text.casefold()
        for needle in needles:
            at = folded.find(needle.casefold())
            if at >= 0:
                zh = f"优惠券“{coupon.text}”已于 {when} 过期，文案仍提到它"
                en = f"The coupon {coupon.text!r} expired at {when}, and the text still mentions it"
                found = text[at : at + len(needle)]
                return [Finding(found, name, at, at + len(needle), "error", rule, law, zh, en, item)]
    zh = f"优惠券“{coupon.text}”已于 {when} 过期；视频的商品卡片可能仍显示它（请重新渲染或删除优惠券）"
    en = f"The coupon {coupon.text!r} expired at {when}; the video's product card may still show it (re-render)"
    return [Finding(coupon.text, "product.coupon", 0, len(coupon.text), "warning", rule, law, zh, en)]


def lint(
    *,
    title: str,
    caption: str,
    hashtags: Sequence[str] = (),
    coupon: Coupon | None = None,
    now: datetime | None = None,
    rules: Sequence[Rule] | None = None,
) -> LintReport:
    """Lint the review text; ``hashtags`` are cleaned tags (see :func:`clean_hashtags`). ``now`` (aware)
    decides whether the coupon has expired."""
    rules = default_rules() if rules is None else rules
    findings = find_terms(title, "title", rules) + find_terms(caption, "caption", rules)
    for index, tag in enumerate(hashtags):
        findings += find_terms(tag, "hashtags", rules, item=index)
    if coupon is not None and now is not None:
        texts: list[tuple[str, int | None, str]] = [("title", None, title), ("caption", None, caption)]
        texts += [("hashtags", i, tag) for i, tag in enumerate(hashtags)]
        findings += _coupon_findings(texts, coupon, now)
    order = {"title": 0, "caption": 1, "hashtags": 2}
    findings.sort(key=lambda f: (f.severity != "error", order.get(f.field, 3), f.item or 0, f.start))
    return LintReport(findings)
