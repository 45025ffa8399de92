"""Captions for publications: a channel's template (the merchant's, else the channel's default) rendered
with the clip's review text, product, price, coupon, share URL, leader and hashtags, fitted to the
channel's limit in its own unit (:mod:`distribution.captions`).

The ``manual`` pseudo-channel is the caption a leader copies by hand (``GET /api/me/clips``); it has a
default template and a limit of its own and can be customised like any channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution import captions as tpl
from distribution.channels.base import CaptionLimit, ChannelAdapter, channel_types, get_adapter
from distribution.errors import TemplateError, UnknownChannel
from services.errors import InvalidValue, NotFound
from store.models import CaptionTemplate, Clip, Leader, utcnow


class CaptionTemplateError(InvalidValue):
    """A caption template request failed."""

    code = "invalid_template"


class InvalidTemplate(CaptionTemplateError):
    """The template does not render (its message says why)."""


class UnknownTemplateChannel(NotFound, CaptionTemplateError):
    code = "unknown_channel"


@dataclass(frozen=True)
class ChannelTemplate:
    """One channel's caption template as the API lists it."""

    channel: str
    label: str
    body: str
    default: str
    custom: bool
    limit: int
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def channels() -> list[str]:
    """Every channel with a caption: the registered adapters and ``manual``."""
    return [*channel_types(), tpl.MANUAL]


def _adapter(channel: str) -> type[ChannelAdapter] | None:
    if channel == tpl.MANUAL:
        return None
    try:
        return get_adapter(channel)
    except UnknownChannel as exc:
        raise UnknownTemplateChannel(str(exc)) from exc


def default_template(channel: str) -> str:
    """The adapter's own ``default_template`` when it sets one, else :data:`distribution.captions.CHANNEL_DEFAULTS`
    (WeCom markdown, Telegram, manual), else the base plain template."""
    adapter = _adapter(channel)
    if adapter is not None:
        owner = next(c for c in adapter.__mro__ if "default_template" in c.__dict__)
        if owner is not ChannelAdapter:
            return str(adapter.default_template)
    return tpl.CHANNEL_DEFAULTS.get(channel, tpl.PLAIN_TEMPLATE)


def caption_limit(channel: str) -> CaptionLimit:
    adapter = _adapter(channel)
    return tpl.MANUAL_LIMIT if adapter is None else adapter.caption_limit


def template_body(session: Session, channel: str) -> str:
    """The merchant's template for ``channel``, else its default."""
    row = session.get(CaptionTemplate, channel)
    return row.body if row is not None else default_template(channel)


def list_templates(session: Session) -> list[ChannelTemplate]:
    stored = {row.channel: row.body for row in session.scalars(select(CaptionTemplate))}
    result = []
    for channel in channels():
        adapter = _adapter(channel)
        default = default_template(channel)
        limit = caption_limit(channel)
        result.append(
            ChannelTemplate(
                channel=channel,
                label=adapter.label if adapter is not None else "Manual sharing (copied by a leader)",
                body=stored.get(channel, default),
                default=default,
                custom=channel in stored,
                limit=limit.limit,
                unit=limit.unit,
            )
        )
    return result


def save_template(session: Session, channel: str, body: str) -> ChannelTemplate:
    """Store a channel's template once it renders against sample data (flushed, not committed)."""
    _adapter(channel)
    try:
        tpl.check_template(body)
    except TemplateError as exc:
        raise InvalidTemplate(str(exc)) from exc
    row = session.get(CaptionTemplate, channel)
    if row is None:
        session.add(CaptionTemplate(channel=channel, body=body))
    else:
        row.body, row.updated_at = body, utcnow()
    session.flush()
    return next(t for t in list_templates(session) if t.channel == channel)


def reset_template(session: Session, channel: str) -> ChannelTemplate:
    """Back to the channel's default (flushed, not committed)."""
    _adapter(channel)
    row = session.get(CaptionTemplate, channel)
    if row is not None:
        session.delete(row)
        session.flush()
    return next(t for t in list_templates(session) if t.channel == channel)


def caption_context(*, clip: Clip, share_url: str, leader: Leader | None) -> tpl.CaptionContext:
    """What a clip's caption template sees: the review text and the product snapshot it was rendered with."""
    return tpl.CaptionContext(
        title=clip.title or "",
        caption=clip.caption or "",
        share_url=share_url,
        hashtags=tuple(clip.hashtags or ()),
        product=clip.product,
        leader_name=leader.name if leader is not None else None,
    )


def preview(
    session: Session, *, channel: str, clip: Clip, share_url: str, leader: Leader | None, body: str | None = None
) -> tpl.FittedCaption:
    """The caption ``channel`` would get (with ``body`` instead of the stored template, when given);
    a caption that cannot fit is returned with ``fits=False``."""
    template = template_body(session, channel) if body is None else body
    try:
        context = caption_context(clip=clip, share_url=share_url, leader=leader)
        return tpl.fit(template, context, caption_limit(channel), strict=False)
    except TemplateError as exc:
        raise InvalidTemplate(str(exc)) from exc


def caption_for(session: Session, *, clip: Clip, channel: str, share_url: str, leader: Leader | None) -> str:
    """The caption to send for ``clip`` on ``channel`` (``"manual"``: for a leader to copy); raises
    ``distribution.errors.CaptionTooLong`` or ``TemplateError`` (a stored template that no longer renders)."""
    body = template_body(session, channel)
    fitted = tpl.fit(body, caption_context(clip=clip, share_url=share_url, leader=leader), caption_limit(channel))
    return fitted.text
