"""Attribute a new shop sale to a link, clip, leader and channel, and bind its customer to the leader.

The facts (the carried click and the visitor's other clicks, the link of the share code, the customer's
bindings) are read here; the choice is :mod:`distribution.attribution`'s. Everything is written in the
caller's transaction (flushed, not committed). A sale is attributed once, when it is first stored:
later deliveries change its status and refund, which reverse the credit proportionally (the ledger and
the reports read ``refund_amount / amount``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from distribution.attribution import (
    CLOCK_SKEW,
    BindingFact,
    ClickFact,
    Decision,
    LinkFact,
    Rules,
    SaleFacts,
    decide,
    new_binding,
)
from runtime.config import Settings
from store import sales as repo
from store.models import Attribution, Click, Sale, ShareLink


def rules_for(settings: Settings) -> Rules:
    """The installation's attribution rules."""
    return Rules(
        window=timedelta(days=settings.attribution_window_days),
        model=settings.attribution_model,
        binding_mode=settings.binding_mode,
        binding_days=settings.binding_days,
    )


def _click_fact(click: Click, link: ShareLink) -> ClickFact:
    return ClickFact(id=click.id, link_id=link.id, at=click.at, leader_id=link.leader_id, bot=click.bot)


def facts_for(sale: Sale) -> SaleFacts:
    return SaleFacts(
        paid_at=sale.paid_at, click_id=sale.click_id, share_code=sale.share_code, customer_id=sale.customer_id
    )


def attribute_sale(settings: Settings, session: Session, sale: Sale) -> Attribution | None:
    """Credit ``sale`` (click id, then share code, then customer binding) and write its
    :class:`~store.models.Attribution` (None and no row when nothing applies); bind its customer when
    the credit came from a click or a share code. Does nothing when the sale already has an attribution."""
    existing = repo.attribution(session, sale.id)
    if existing is not None:
        return existing
    rules = rules_for(settings)
    facts = facts_for(sale)
    carried: ClickFact | None = None
    visitors: list[ClickFact] = []
    if sale.click_id:
        found = repo.click_with_link(session, sale.click_id)
        if found is not None:
            carried = _click_fact(*found)
            since, until = sale.paid_at - rules.window, sale.paid_at + CLOCK_SKEW
            visitors = [_click_fact(c, lk) for c, lk in repo.visitor_clicks(session, found[0].identity, since, until)]
    share_link = None
    if sale.share_code:
        row = repo.link_by_code(session, sale.share_code)
        share_link = LinkFact(row.id, row.leader_id) if row is not None else None
    bindings = (
        [
            BindingFact(b.leader_id, b.bound_at, b.expires_at, b.link_id)
            for b in repo.bindings(session, sale.customer_id)
        ]
        if sale.customer_id
        else []
    )
    decision = decide(facts, rules, carried=carried, visitor_clicks=visitors, share_link=share_link, bindings=bindings)
    binding = new_binding(facts, decision, rules, bindings)
    if binding is not None and sale.customer_id:
        repo.add_binding(
            session,
            customer_id=sale.customer_id,
            leader_id=binding.leader_id,
            bound_at=binding.bound_at,
            expires_at=binding.expires_at,
            link_id=binding.link_id,
        )
    if decision is None:
        return None
    return repo.add_attribution(session, _row(session, sale, decision))


def _row(session: Session, sale: Sale, decision: Decision) -> Attribution:
    link = repo.link(session, decision.link_id) if decision.link_id else None
    clip_id = link.clip_id if link is not None else None
    return Attribution(
        sale_id=sale.id,
        link_id=link.id if link is not None else None,
        clip_id=clip_id,
        leader_id=decision.leader_id,
        channel=link.channel if link is not None else None,
        recording_id=repo.clip_recording(session, clip_id) if clip_id else None,
        method=decision.method,
        click_id=decision.click_id,
    )
