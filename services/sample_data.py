"""A deterministic sample live-commerce stream plan, and its side-data files (see FORMATS.md).

:func:`make_plan` plants the truth (product segments, selling moments, decoy cheers, speech
spurts); chat, orders and transcript are derived from it. :func:`write_side_data` writes the
five files; ``studio.synth.render_sample_stream(plan, ...)`` renders the matching video.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from services.storage import atomic_write
from sidedata.records import ChatEvent, StreamOrder, TranscriptCue
from studio.synth import Scene, Span, StreamSpec

CENT = Decimal("0.01")
STREAM_DATE = "20261120"
CHANNEL_NAME = "小美的直播间"
INTRO_COLOUR = "1A1A2E"
FILE_NAMES = ("catalog.csv", "timeline.csv", "chat.jsonl", "orders.csv", "transcript.srt")  # SideDataFiles order

# name, price, original price, coupon, background colour (SKUs are LS-0001, LS-0002... in this order)
_CATALOG: tuple[tuple[str, str, str, str, str], ...] = (
    ("保湿面霜 Hydrating Cream", "89.00", "129.00", "满99减10", "2E6FD8"),
    ("氨基酸洁面乳 Amino Cleanser", "49.90", "79.00", "满49减5", "E0533D"),
    ("防晒喷雾 SPF50 Sun Spray", "69.00", "99.00", "满69减8", "2FA36B"),
    ("真丝眼罩 Silk Eye Mask", "39.90", "59.00", "满39减3", "8B4FC9"),
    ("蓝牙耳机 Wireless Earbuds", "199.00", "299.00", "满199减30", "E8B030"),
    ("香薰蜡烛 Scented Candle", "59.00", "88.00", "满59减6", "C2417A"),
)
MAX_PRODUCTS = len(_CATALOG)


def _split(text: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(text.split(sep))


_USERS = _split(
    "小米粥 橘子汽水 阿杰 momo 夏天的风 糖糖 Lily_88 王小二 一只猫 晴天 大白兔 user_8842 芒果布丁 Kevin 小鹿乱撞"
)
_BASE_CHAT = _split("主播好 好用吗 多少钱 什么肤质适合 有赠品吗 发什么快递 包邮吗 想要 看看 😍")
_BURST_CHAT = _split("上链接！ 上链接 已拍 拍了 冲冲冲 抢到了 还有货吗 已下单 多少钱 好用吗 3号链接")
_GIFTS = ("送出 小心心 x1", "送出 玫瑰 x1", "送出 墨镜 x1", "送出 嘉年华 x1")
_TALK = _split(
    "这款{short}真的很好用|我自己也一直在用{short}|大家看一下这个质地|{short}原价{orig}|今天直播间只要{price}"
    "|优惠券先领了再拍 {coupon}|库存不多了 手慢无|秒杀价{price}|新进来的宝宝点个关注|这个{en}回购率特别高"
    "|有问题可以打在公屏上|三二一 准备好",
    "|",
)
_BETWEEN_TALK = ("接下来这款也很推荐 大家稍等", "下一个宝贝马上来")
_OUTRO_TALK = ("谢谢宝宝们 明天同一时间见", "没抢到的宝宝别急 明天还有")
_INTRO_TALK = _split(
    "欢迎来到{channel}|宝宝们晚上好|今天给大家准备了好多福利|先点个关注不迷路|今晚有秒杀 大家别走开|新来的宝宝扣个1",
    "|",
)


class SamplePlanError(ValueError):
    """The requested sample cannot be planned (too short for the number of products...)."""


@dataclass(frozen=True)
class SampleProduct:
    sku: str
    name: str
    price: Decimal
    original_price: Decimal
    coupon: str
    buy_url: str
    colour: str
    currency: str = "CNY"


@dataclass(frozen=True)
class ProductSegment:
    """The host presents ``sku`` from ``start`` to ``end``; ``selling_moment`` is when 上链接 is said."""

    sku: str
    start: float
    end: float
    selling_moment: float


@dataclass(frozen=True)
class SideDataFiles:
    """Where :func:`write_side_data` put each file."""

    catalog: Path
    timeline: Path
    chat: Path
    orders: Path
    transcript: Path


@dataclass(frozen=True)
class SamplePlan:
    """A planned sample stream. ``selling_moments``, ``decoys`` and ``speech`` are the planted truth."""

    duration: float
    seed: int
    products: tuple[SampleProduct, ...]
    segments: tuple[ProductSegment, ...]
    speech: tuple[Span, ...]
    decoys: tuple[Span, ...]
    chat: tuple[ChatEvent, ...]
    orders: tuple[StreamOrder, ...]
    transcript: tuple[TranscriptCue, ...]

    @property
    def selling_moments(self) -> tuple[float, ...]:
        return tuple(seg.selling_moment for seg in self.segments)

    @property
    def pauses(self) -> tuple[Span, ...]:
        """The gaps between speech spurts (the music keeps playing)."""
        return tuple(
            Span(a.end, b.start) for a, b in zip(self.speech, self.speech[1:], strict=False) if b.start > a.end
        )

    def product(self, sku: str) -> SampleProduct:
        for item in self.products:
            if item.sku == sku:
                return item
        raise KeyError(sku)

    def stream_spec(self) -> StreamSpec:
        """What ``studio.synth`` needs to render the matching video."""
        intro = Scene(0.0, self.segments[0].start, INTRO_COLOUR, "欢迎来到直播间 Welcome", ("今晚福利多多 关注不迷路",))
        scenes = [intro] if intro.end > 0 else []
        for seg in self.segments:
            item = self.product(seg.sku)
            lines = (f"直播价 ¥{item.price}   原价 ¥{item.original_price}", f"优惠券 {item.coupon}")
            scenes.append(Scene(seg.start, seg.end, item.colour, item.name, lines))
        return StreamSpec(
            duration=self.duration,
            scenes=tuple(scenes),
            speech=self.speech,
            cheers=self.decoys,
            background="30303A",
            channel_name=CHANNEL_NAME,
            seed=self.seed,
        )


def _r(value: float) -> float:
    return round(value, 3)


def _products(count: int) -> tuple[SampleProduct, ...]:
    skus = [f"LS-{i:04d}" for i in range(1, count + 1)]
    return tuple(
        SampleProduct(sku, name, Decimal(price), Decimal(orig), coupon, f"https://shop.example.com/p/{sku}", colour)
        for sku, (name, price, orig, coupon, colour) in zip(skus, _CATALOG, strict=False)
    )


def _segments(rng: random.Random, products: tuple[SampleProduct, ...], duration: float) -> tuple[ProductSegment, ...]:
    intro = min(15.0, duration * 0.08)
    outro = min(5.0, duration * 0.03)
    gaps = [0.0 if rng.random() < 0.4 else rng.uniform(0.5, 2.5) for _ in products[1:]]
    usable = duration - intro - outro - sum(gaps)
    weights = [rng.uniform(0.92, 1.08) for _ in products]
    lengths = [usable * w / sum(weights) for w in weights]
    if min(lengths) < 12.0:
        raise SamplePlanError(f"{duration:g} s is too short for {len(products)} products (need ≥ 12 s each)")
    segments, cursor = [], intro
    for i, (item, length) in enumerate(zip(products, lengths, strict=True)):
        start, end = _r(cursor), _r(cursor + length)
        moment = _r(start + length * rng.uniform(0.58, 0.72))
        segments.append(ProductSegment(item.sku, start, end, moment))
        cursor = end + (gaps[i] if i < len(gaps) else 0.0)
    return tuple(segments)


def _decoys(rng: random.Random, segments: tuple[ProductSegment, ...]) -> tuple[Span, ...]:
    """Loud cheers early in some segments, ending at least 7 s before their selling moment."""
    indexes = [0] if len(segments) < 3 else sorted({1, len(segments) - 2})
    picks = [segments[i] for i in indexes]
    spans = []
    for seg in picks:
        room = seg.selling_moment - 7.0 - (seg.start + 0.5)
        length = min(rng.uniform(2.0, 3.0), room)
        if length < 1.5:
            continue
        start = seg.start + 0.5 + (room - length) * rng.uniform(0.2, 0.6)
        spans.append(Span(_r(start), _r(start + length)))
    return tuple(spans)


def _fill_speech(rng: random.Random, start: float, end: float) -> list[Span]:
    """Talk spurts of 1–4 s, each followed by a 0.3–1 s pause, filling ``start``..``end`` exactly."""
    spurts: list[Span] = []
    t = start
    while end - t > 5.0:
        pause = rng.uniform(0.3, 1.0)
        length = rng.uniform(1.0, min(4.0, end - t - pause - 1.3))
        spurts.append(Span(_r(t), _r(t + length)))
        t += length + pause
    remaining = end - t
    if remaining >= 1.3:  # the last spurt lands so that its pause ends at ``end``
        pause = rng.uniform(max(0.3, remaining - 4.0), min(1.0, remaining - 1.0))
        spurts.append(Span(_r(t), _r(end - pause)))
    return spurts


def _speech(
    rng: random.Random, segments: tuple[ProductSegment, ...], decoys: tuple[Span, ...], duration: float
) -> tuple[Span, ...]:
    """Talk spurts over the whole stream; one says 上链接 at each selling moment; silent during cheers."""
    anchors = [Span(_r(seg.selling_moment - 0.4), _r(seg.selling_moment + 1.8)) for seg in segments]
    barriers = sorted([(a, True) for a in anchors] + [(d, False) for d in decoys], key=lambda b: b[0].start)
    spurts: list[Span] = []
    cursor = 0.6
    for span, spoken in barriers:
        spurts += _fill_speech(rng, cursor, span.start)
        if spoken:
            spurts.append(span)
        cursor = span.end + rng.uniform(0.3, 1.0)
    spurts += _fill_speech(rng, cursor, duration - 0.5)
    return tuple(spurts)


def _segment_at(segments: tuple[ProductSegment, ...], t: float) -> ProductSegment | None:
    return next((seg for seg in segments if seg.start <= t < seg.end), None)


def _transcript(
    rng: random.Random,
    plan_segments: tuple[ProductSegment, ...],
    products: dict[str, SampleProduct],
    speech: tuple[Span, ...],
) -> tuple[TranscriptCue, ...]:
    moments = {seg.selling_moment for seg in plan_segments}
    cues = []
    for spurt in speech:
        seg = _segment_at(plan_segments, spurt.start)
        if seg is None:
            if spurt.start < plan_segments[0].start:
                lines = _INTRO_TALK
            else:
                lines = _OUTRO_TALK if spurt.start >= plan_segments[-1].end else _BETWEEN_TALK
            text = rng.choice(lines).format(channel=CHANNEL_NAME)
        else:
            item = products[seg.sku]
            short, _, en = item.name.partition(" ")
            if any(spurt.start <= m <= spurt.end for m in moments):
                text = f"上链接！{short} 秒杀价{item.price}元 库存只有200单"
            else:
                price, orig = f"{item.price}元", f"{item.original_price}元"
                text = rng.choice(_TALK).format(short=short, en=en, price=price, orig=orig, coupon=item.coupon)
        cues.append(TranscriptCue(spurt.start, spurt.end, text))
    return tuple(cues)


def _quiet(t: float, decoys: tuple[Span, ...]) -> bool:
    """No chat and no orders from 1 s before a decoy cheer to 3 s after it."""
    return any(d.start - 1.0 <= t <= d.end + 3.0 for d in decoys)


def _poisson(rng: random.Random, start: float, end: float, rate: float) -> list[float]:
    times: list[float] = []
    t = start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return times
        times.append(_r(t))


def _chat(
    rng: random.Random, segments: tuple[ProductSegment, ...], decoys: tuple[Span, ...], duration: float
) -> tuple[ChatEvent, ...]:
    lines = []
    for t in _poisson(rng, 0.0, duration, 0.45):
        roll = rng.random()
        if roll < 0.1:
            lines.append(ChatEvent(t, rng.choice(_USERS), "点赞了", "like"))
        elif roll < 0.16:
            lines.append(ChatEvent(t, rng.choice(_USERS), "来了", "join"))
        elif roll < 0.2:
            lines.append(ChatEvent(t, rng.choice(_USERS), rng.choice(_GIFTS), "gift"))
        else:
            lines.append(ChatEvent(t, rng.choice(_USERS), rng.choice(_BASE_CHAT)))
    for seg in segments:
        m = seg.selling_moment
        for t in _poisson(rng, max(seg.start, m - 3.0), min(seg.end, m + 14.0), 6.0):
            if rng.random() < 0.12:
                lines.append(ChatEvent(t, rng.choice(_USERS), rng.choice(_GIFTS), "gift"))
            else:
                lines.append(ChatEvent(t, rng.choice(_USERS), rng.choice(_BURST_CHAT)))
    kept = {c: None for c in lines if not _quiet(c.ts, decoys)}  # exact duplicates would import once
    return tuple(sorted(kept, key=lambda c: (c.ts, c.user, c.text)))


def _orders(
    rng: random.Random,
    segments: tuple[ProductSegment, ...],
    products: dict[str, SampleProduct],
    decoys: tuple[Span, ...],
) -> tuple[StreamOrder, ...]:
    stamps: list[tuple[float, str]] = []
    for seg in segments:
        stamps += [(t, seg.sku) for t in _poisson(rng, seg.start, seg.end, 0.04)]
        for _ in range(rng.randint(14, 22)):
            t = _r(seg.selling_moment + 1.5 + rng.expovariate(1 / 5.0))
            if t < seg.end:
                stamps.append((t, seg.sku))
    stamps = sorted(s for s in stamps if not _quiet(s[0], decoys))
    serial = rng.randint(100, 900)
    orders = []
    for n, (t, sku) in enumerate(stamps):
        qty = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        price = products[sku].price
        orders.append(StreamOrder(t, sku, qty, (price * qty).quantize(CENT), f"DY{STREAM_DATE}-{serial + n:06d}"))
    return tuple(orders)


def make_plan(duration: float = 330.0, seed: int = 7, products: int = 5) -> SamplePlan:
    """Plan a sample stream of ``duration`` seconds presenting ``products`` products (deterministic per seed)."""
    if not 1 <= products <= MAX_PRODUCTS:
        raise SamplePlanError(f"products must be 1..{MAX_PRODUCTS}, got {products}")
    rng = random.Random(seed)
    items = _products(products)
    by_sku = {item.sku: item for item in items}
    segments = _segments(rng, items, float(duration))
    decoys = _decoys(rng, segments)
    speech = _speech(rng, segments, decoys, float(duration))
    return SamplePlan(
        duration=float(duration),
        seed=seed,
        products=items,
        segments=segments,
        speech=speech,
        decoys=decoys,
        chat=_chat(rng, segments, decoys, float(duration)),
        orders=_orders(rng, segments, by_sku, decoys),
        transcript=_transcript(rng, segments, by_sku, speech),
    )


def format_hms(seconds: float) -> str:
    """``HH:MM:SS.mmm`` for a time in the recording."""
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _srt_time(seconds: float) -> str:
    return format_hms(seconds).replace(".", ",")


def _csv(rows: list[list[str]]) -> bytes:
    # No field here contains a comma, quote or newline; check rather than assume.
    for row in rows:
        if any(ch in cell for cell in row for ch in ',"\n\r'):
            raise SamplePlanError(f"CSV cell needs quoting: {row!r}")
    return "".join(",".join(row) + "\n" for row in rows).encode("utf-8")


def side_data_bytes(plan: SamplePlan) -> dict[str, bytes]:
    """The five side-data files as UTF-8 bytes, keyed by file name (see FORMATS.md)."""
    catalog = [["sku", "name", "price", "original_price", "currency", "coupon", "image", "buy_url"]]
    catalog += [
        [p.sku, p.name, str(p.price), str(p.original_price), p.currency, p.coupon, "", p.buy_url] for p in plan.products
    ]
    timeline = [["sku", "start", "end"]] + [[s.sku, format_hms(s.start), format_hms(s.end)] for s in plan.segments]
    orders = [["ts", "sku", "qty", "amount", "order_id"]]
    orders += [[format_hms(o.ts), o.sku, str(o.qty), str(o.amount), o.order_id or ""] for o in plan.orders]
    chat = "".join(
        json.dumps({"ts": format_hms(c.ts), "user": c.user, "text": c.text, "kind": c.kind}, ensure_ascii=False) + "\n"
        for c in plan.chat
    )
    srt = "".join(
        f"{i}\n{_srt_time(c.start)} --> {_srt_time(c.end)}\n{c.text}\n\n" for i, c in enumerate(plan.transcript, 1)
    )
    return dict(
        zip(FILE_NAMES, (_csv(catalog), _csv(timeline), chat.encode(), _csv(orders), srt.encode()), strict=True)
    )


def write_side_data(plan: SamplePlan, folder: Path) -> SideDataFiles:
    """Write catalog.csv, timeline.csv, chat.jsonl, orders.csv and transcript.srt into ``folder`` atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in side_data_bytes(plan).items():
        with atomic_write(folder / name) as handle:
            handle.write(data)
    return SideDataFiles(*(folder / name for name in FILE_NAMES))
