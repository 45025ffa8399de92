"""Caption templates: Jinja2 in a sandbox, rendered with a clip's text and fitted to a channel's limit.

Variables: ``title``, ``caption``, ``product`` (``name``, ``price`` as "¥89.00", ``original_price``,
``coupon``, ``currency``; None when the clip has no product), ``price``, ``coupon``, ``share_url``,
``leader`` (``name``; None for a post without a leader), ``hashtags`` ("#a #b") and ``hashtag_list``.
Captions are plain text, so nothing is escaped; the sandbox refuses internals (``''.__class__``), and an
unknown variable is an error that names it. A caption over the limit has its free text (``caption``)
shortened with "…"; the share URL and everything else stay whole, else :class:`CaptionTooLong`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from distribution.channels.base import CaptionLimit
from distribution.errors import CaptionTooLong, TemplateError

ELLIPSIS = "…"
MAX_TEMPLATE_CHARS = 4000
#: The pseudo-channel of captions a leader copies by hand (``GET /api/me/clips``, the portal).
MANUAL = "manual"
MANUAL_LIMIT = CaptionLimit(2000, "chars")
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"}

#: Plain text; the base template of every channel without one of its own.
PLAIN_TEMPLATE = (
    "{{ title }}\n{{ caption }}\n"
    "{% if product %}{{ product.name }} {{ price }}"
    "{% if product.original_price %}（原价 {{ product.original_price }}）{% endif %}{% endif %}\n"
    "{% if coupon %}🎟 {{ coupon }}{% endif %}\n"
    "{{ hashtags }}\n{{ share_url }}"
)

#: WeCom group robots render markdown (bold, quotes, links; ≤4096 bytes).
WECOM_TEMPLATE = (
    "**{{ title }}**\n{{ caption }}\n"
    '{% if product %}> {{ product.name }}：<font color="warning">{{ price }}</font>'
    "{% if product.original_price %} 原价 {{ product.original_price }}{% endif %}{% endif %}\n"
    "{% if coupon %}> 优惠券：{{ coupon }}{% endif %}\n"
    "{{ hashtags }}\n[立即购买 Buy now]({{ share_url }})"
)

#: Telegram media captions: plain text, ≤1024 characters after entity parsing.
TELEGRAM_TEMPLATE = """{{ title }}

{{ caption }}
{% if product %}{{ product.name }} · {{ price }}{% endif %}{% if coupon %} · {{ coupon }}{% endif %}
{{ hashtags }}
{{ share_url }}"""

#: What a leader copies into a WeChat group by hand.
MANUAL_TEMPLATE = """{{ title }}
{{ caption }}
{% if product %}👉 {{ product.name }} {{ price }}{% endif %}{% if coupon %}（{{ coupon }}）{% endif %}
{{ hashtags }}
{{ share_url }}"""

#: Defaults of channels whose adapter does not set its own ``default_template``.
CHANNEL_DEFAULTS: dict[str, str] = {
    "wecom": WECOM_TEMPLATE,
    "telegram": TELEGRAM_TEMPLATE,
    MANUAL: MANUAL_TEMPLATE,
}


@dataclass(frozen=True)
class CaptionContext:
    """What a template may use. ``product`` is the clip's product snapshot (decimal strings for prices)."""

    title: str = ""
    caption: str = ""
    share_url: str = ""
    hashtags: Sequence[str] = ()
    product: Mapping[str, Any] | None = None
    leader_name: str | None = None

    def variables(self, caption: str | None = None) -> dict[str, Any]:
        """The template's variables (``caption`` overrides the free text, for shortening)."""
        product = _product(self.product)
        tags = [str(t) for t in self.hashtags]
        return {
            "title": self.title,
            "caption": self.caption if caption is None else caption,
            "product": product,
            "price": product["price"] if product else "",
            "coupon": (product or {}).get("coupon") or "",
            "share_url": self.share_url,
            "leader": {"name": self.leader_name} if self.leader_name else None,
            "hashtags": " ".join(f"#{tag}" for tag in tags),
            "hashtag_list": tags,
        }


SAMPLE = CaptionContext(
    title="保湿面霜限时直降",
    caption="主播亲测，一抹就化开，干皮也能用一整天。",
    share_url="https://example.com/s/k7mq2xwz9d",
    hashtags=("护肤", "直播好物"),
    product={"name": "保湿面霜", "price": "89.00", "original_price": "129.00", "currency": "CNY", "coupon": "满99减10"},
    leader_name="小王团长",
)


@dataclass(frozen=True)
class FittedCaption:
    """A rendered caption, measured in the channel's unit."""

    text: str
    length: int
    limit: int
    unit: str
    fits: bool
    shortened: bool = False
    notes: list[str] = field(default_factory=list)


def format_money(amount: str | Decimal | None, currency: str = "CNY") -> str:
    """``"89"`` -> ``"¥89.00"``; a currency without a symbol is written before (``"SGD 89.00"``)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(amount)
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{currency.upper()} {value:,.2f}"


def _product(snapshot: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not snapshot or not snapshot.get("name"):
        return None
    currency = str(snapshot.get("currency") or "CNY")
    original = snapshot.get("original_price")
    return {
        "name": str(snapshot["name"]),
        "price": format_money(snapshot.get("price"), currency),
        "original_price": format_money(original, currency) if original not in (None, "") else "",
        "coupon": str(snapshot.get("coupon") or ""),
        "currency": currency,
    }


#: What a rendered template may produce, and how deep loops may nest and how far ``range`` may count:
#: a merchant's template must not be able to tie up the server (``{{ "a" * 10**10 }}``, nested loops).
MAX_OUTPUT_CHARS = 20_000
MAX_LOOP_DEPTH = 2
MAX_RANGE = 1_000


def _small_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() may count at most {MAX_RANGE} steps in a caption template")
    return numbers


class _CaptionSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` checked so no expression can build a huge value."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("** is not allowed in a caption template")
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT_CHARS:
                raise SecurityError(f"a repeated value may hold at most {MAX_OUTPUT_CHARS} characters")
        return super().call_binop(context, operator, left, right)


_ENV = _CaptionSandbox(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
_ENV.globals["range"] = _small_range


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    here = depth + 1 if isinstance(node, nodes.For) else depth
    return max([here, *(_loop_depth(child, here) for child in node.iter_child_nodes())])


def _bounded(template: Template, variables: Mapping[str, Any]) -> str:
    """The template's output, stopped (TemplateError) as soon as it passes :data:`MAX_OUTPUT_CHARS`."""
    parts, size = [], 0
    for part in template.generate(**variables):
        size += len(part)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateError(f"the template's output is over {MAX_OUTPUT_CHARS} characters")
        parts.append(part)
    return "".join(parts)


def _tidy(text: str) -> str:
    """Trailing spaces off each line, runs of blank lines (left by empty parts) down to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def render(body: str, variables: Mapping[str, Any]) -> str:
    """Render a template; :class:`TemplateError` says what is wrong (a syntax error with its line, an
    unknown variable by name, a forbidden attribute)."""
    if len(body) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a caption template may hold at most {MAX_TEMPLATE_CHARS} characters")
    try:
        if _loop_depth(_ENV.parse(body)) > MAX_LOOP_DEPTH:
            raise TemplateError(f"loops may nest at most {MAX_LOOP_DEPTH} deep in a caption template")
        return _tidy(_bounded(_ENV.from_string(body), variables))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    except UndefinedError as exc:
        if "None" in str(exc.message):
            raise TemplateError(
                f"{exc.message}: product and leader may be empty, guard them with {{% if product %}}…{{% endif %}}"
            ) from exc
        known = ", ".join(sorted(SAMPLE.variables()))
        raise TemplateError(f"unknown template variable: {exc.message} (known: {known})") from exc
    except SecurityError as exc:
        raise TemplateError(f"the template uses something the sandbox forbids: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"the template failed: {exc}") from exc


def check_template(body: str) -> str:
    """Render ``body`` against :data:`SAMPLE` (with and without product and leader); the sample caption."""
    bare = CaptionContext(title=SAMPLE.title, caption=SAMPLE.caption, share_url=SAMPLE.share_url)
    render(body, bare.variables())
    return render(body, SAMPLE.variables())


def _shortened(caption: str, keep: int) -> str:
    return caption[:keep].rstrip() + ELLIPSIS if keep > 0 else ELLIPSIS


def fit(body: str, context: CaptionContext, limit: CaptionLimit, *, strict: bool = True) -> FittedCaption:
    """Render ``body`` and fit it to ``limit``: the free-text caption is cut (with "…") to the longest
    prefix that fits. Nothing else is ever cut; when even that does not fit, :class:`CaptionTooLong`
    (with ``strict=False``: the unfitted text, ``fits=False``, for previews)."""
    text = render(body, context.variables())
    measured = limit.measure(text)
    if measured <= limit.limit:
        return FittedCaption(text, measured, limit.limit, limit.unit, True)
    caption = context.caption
    if caption:
        low, high, best = 0, len(caption) - 1, None
        while low <= high:  # the longest prefix that fits (length grows with the prefix)
            mid = (low + high) // 2
            candidate = render(body, context.variables(_shortened(caption, mid)))
            if limit.fits(candidate):
                best, low = candidate, mid + 1
            else:
                high = mid - 1
        if best is not None:
            return FittedCaption(best, limit.measure(best), limit.limit, limit.unit, True, shortened=True)
    message = (
        f"the caption is {measured} {limit.unit}, over the limit of {limit.limit}, and shortening its free "
        "text is not enough: shorten the title or hashtags, or the template"
    )
    if strict:
        raise CaptionTooLong(message)
    return FittedCaption(text, measured, limit.limit, limit.unit, False, notes=[message])
