"""Caption templates: sandboxed, strict about unknown variables, fitted to each channel's unit."""

from __future__ import annotations

import pytest

from distribution.captions import (
    SAMPLE,
    TELEGRAM_TEMPLATE,
    WECOM_TEMPLATE,
    CaptionContext,
    check_template,
    fit,
    format_money,
    render,
)
from distribution.channels.base import CaptionLimit
from distribution.errors import CaptionTooLong, TemplateError

URL = "https://shop.example.com/s/k7mq2xwz9d"


@pytest.mark.parametrize(
    "body",
    ["{{ ''.__class__ }}", "{{ title.__class__.__mro__[1].__subclasses__() }}", "{{ caption.__init__.__globals__ }}"],
)
def test_the_sandbox_blocks_internals(body: str) -> None:
    with pytest.raises(TemplateError, match="sandbox"):
        render(body, SAMPLE.variables())


def test_unknown_variables_and_syntax_errors_are_named() -> None:
    with pytest.raises(TemplateError, match="'shop_name' is undefined"):
        check_template("{{ shop_name }}")
    with pytest.raises(TemplateError, match="line 2"):
        check_template("ok\n{% if %}")


def test_variables_render_with_formatted_prices_and_hashtags() -> None:
    text = render(
        "{{ product.name }} {{ price }} {{ product.original_price }} {{ coupon }} {{ leader.name }} {{ hashtags }}",
        SAMPLE.variables(),
    )
    assert text == "保湿面霜 ¥89.00 ¥129.00 满99减10 小王团长 #护肤 #直播好物"
    assert format_money("1299.5", "USD") == "$1,299.50" and format_money("10", "SGD") == "SGD 10.00"


def test_default_templates_render_without_product_or_leader() -> None:
    bare = CaptionContext(title="标题", caption="正文", share_url=URL)
    assert render(TELEGRAM_TEMPLATE, bare.variables()) == f"标题\n\n正文\n\n{URL}"
    assert check_template(WECOM_TEMPLATE).startswith("**保湿面霜限时直降**")


def test_bytes_limits_count_chinese_as_three_and_cut_only_the_caption() -> None:
    context = CaptionContext(title="标题", caption="好" * 600, share_url=URL)
    body = "{{ title }}\n{{ caption }}\n{{ share_url }}"
    in_chars = fit(body, context, CaptionLimit(1024, "chars"))
    assert in_chars.fits and not in_chars.shortened and in_chars.length == len(in_chars.text)
    in_bytes = fit(body, context, CaptionLimit(1024, "bytes"))
    assert in_bytes.shortened and in_bytes.length <= 1024 and len(in_bytes.text.encode()) == in_bytes.length
    assert in_bytes.text.endswith("…\n" + URL) and in_bytes.text.startswith("标题\n好")


def test_the_url_is_never_cut_a_caption_that_cannot_fit_raises() -> None:
    context = CaptionContext(title="长" * 50, caption="短", share_url=URL)
    with pytest.raises(CaptionTooLong, match="over the limit of 60"):
        fit("{{ title }} {{ caption }} {{ share_url }}", context, CaptionLimit(60, "chars"))
    loose = fit("{{ title }} {{ caption }} {{ share_url }}", context, CaptionLimit(60, "chars"), strict=False)
    assert not loose.fits and URL in loose.text


@pytest.mark.parametrize(
    "body",
    [
        '{{ "a" * 100000000 }}',
        "{{ [1] * 100000000 }}",
        "{{ 9 ** 99999999 }}",
        "{% for i in range(100000) %}{% endfor %}",
        "{% for a in range(9) %}{% for b in range(9) %}{% for c in range(9) %}x{% endfor %}{% endfor %}{% endfor %}",
        "{% for i in range(999) %}{{ caption }}{{ caption }}{{ caption }}{% endfor %}",
    ],
)
def test_a_template_cannot_tie_up_the_server(body: str) -> None:
    with pytest.raises(TemplateError):  # refused up front or cut off early, never built in full
        check_template(body)
