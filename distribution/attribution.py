"""Whom a shop sale is credited to, and which customer bindings follow: pure rules over facts the
service looked up (no database here).

Precedence: the click id the shop carried back (``lsclid`` -> ``click_id``), then the share code, then
the customer's binding to a leader in force when the sale was paid.

- **Clicks.** The carried click *is* the customer's click: it wins outright when it happened within the
  attribution window before ``paid_at`` (a few minutes after it are tolerated for clock skew between
  the shop and us), even when flagged as a bot (the shop saw a buyer come through it). Other clicks with
  the same hashed identity (IP + user agent) are **not** the same person (carrier NAT and WeChat's
  identical user agents make collisions common), so they never take the credit from another leader:
  ``last_click`` credits the carried click; ``first_click`` credits the visitor's earliest human click
  on a link of **the same leader** before the carried one, in the window (the leader never changes, only
  which of their links, clips or channels gets the sale). An unknown or expired carried click gives no
  click credit (there is no identity to match without it).
- **Share code.** The link with that code, whatever its age (a share code has no click time).
- **Binding.** The leader the customer is bound to at ``paid_at``; no link, clip or channel (the sale
  came through none of them).

Bindings: a sale credited to a leader by click or share code binds its customer to that leader, from the
sale's ``paid_at`` (not from when the sale reached us). Mode ``first``: a binding in force is kept (first
binding wins), and of several live bindings the **earliest** ``bound_at`` applies, so sales that arrive
out of order (an import storing a later sale before an earlier one) still credit the first leader;
``last``: the new leader takes over, and the newest live binding applies. A binding lasts
``binding_days`` from the sale (0: for good).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Model = Literal["last_click", "first_click"]
BindingMode = Literal["first", "last"]
Method = Literal["click", "share_code", "binding"]

#: How far a click may lie after ``paid_at`` and still count (the shop's clock and ours differ).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Rules:
    """The installation's attribution settings."""

    window: timedelta = timedelta(days=7)
    model: Model = "last_click"
    binding_mode: BindingMode = "first"
    binding_days: int = 30


@dataclass(frozen=True)
class SaleFacts:
    """What the shop sent back with the sale."""

    paid_at: datetime
    click_id: str | None = None
    share_code: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class ClickFact:
    """A stored click and the leader of its link."""

    id: str
    link_id: str
    at: datetime
    leader_id: str | None = None
    bot: bool = False


@dataclass(frozen=True)
class LinkFact:
    """A share link (found by its code) and its leader."""

    id: str
    leader_id: str | None = None


@dataclass(frozen=True)
class BindingFact:
    """A customer's binding to a leader."""

    leader_id: str
    bound_at: datetime
    expires_at: datetime | None = None
    link_id: str | None = None


@dataclass(frozen=True)
class Decision:
    """The credit: how it was found, the link (None for a binding), the leader, the click."""

    method: Method
    leader_id: str | None
    link_id: str | None = None
    click_id: str | None = None


def counts(click: ClickFact, paid_at: datetime, rules: Rules) -> bool:
    """Whether ``click`` lies in the window before ``paid_at`` (up to :data:`CLOCK_SKEW` after it)."""
    return paid_at - rules.window <= click.at <= paid_at + CLOCK_SKEW


def pick_click(candidates: Iterable[ClickFact], model: Model, *, prefer: str | None = None) -> ClickFact | None:
    """The click the model credits: the latest (``last_click``) or earliest (``first_click``); on a tie
    the click ``prefer`` names (the carried one), then the smallest id, so the choice is stable."""
    clicks = list(candidates)
    if not clicks:
        return None
    sign = -1 if model == "last_click" else 1

    def key(click: ClickFact) -> tuple[float, int, str]:
        return (sign * click.at.timestamp(), 0 if click.id == prefer else 1, click.id)

    return min(clicks, key=key)


def binding_in_force(bindings: Iterable[BindingFact], at: datetime, mode: BindingMode = "first") -> BindingFact | None:
    """The binding in force at ``at``: of those made by ``at`` and not expired then, the earliest by
    ``bound_at`` in mode ``first`` (the first binding wins, whatever order the sales arrived in), the
    newest in mode ``last``. Ties go by the order of ``bindings`` (the order they were made): the earlier
    one in ``first`` mode, the later one in ``last`` mode."""
    live = [
        (b.bound_at, i, b)
        for i, b in enumerate(bindings)
        if b.bound_at <= at and (b.expires_at is None or b.expires_at > at)
    ]
    if not live:
        return None
    if mode == "first":
        return min(live, key=lambda t: (t[0], t[1]))[2]
    return max(live, key=lambda t: (t[0], t[1]))[2]


def decide(
    sale: SaleFacts,
    rules: Rules,
    *,
    carried: ClickFact | None = None,
    visitor_clicks: Sequence[ClickFact] = (),
    share_link: LinkFact | None = None,
    bindings: Sequence[BindingFact] = (),
) -> Decision | None:
    """Credit the sale by the precedence above; None when nothing applies.

    ``carried``: the click whose id the shop sent back (None when unknown). ``visitor_clicks``: clicks
    with the carried click's hashed identity (used only by ``first_click``, and only those on the carried
    click's leader's links before it; bots among them are ignored). ``share_link``: the link with the
    sale's share code. ``bindings``: the customer's bindings (the one in force at ``paid_at`` applies).
    """
    if carried is not None and counts(carried, sale.paid_at, rules):
        chosen = carried
        if rules.model == "first_click":
            earlier = [
                c
                for c in visitor_clicks
                if not c.bot
                and c.id != carried.id
                and c.leader_id == carried.leader_id
                and c.at < carried.at
                and counts(c, sale.paid_at, rules)
            ]
            chosen = pick_click([carried, *earlier], "first_click", prefer=carried.id) or carried
        return Decision("click", chosen.leader_id, chosen.link_id, chosen.id)
    if share_link is not None:
        return Decision("share_code", share_link.leader_id, share_link.id)
    if sale.customer_id:
        binding = binding_in_force(bindings, sale.paid_at, rules.binding_mode)
        if binding is not None:
            return Decision("binding", binding.leader_id)
    return None


def new_binding(
    sale: SaleFacts, decision: Decision | None, rules: Rules, bindings: Sequence[BindingFact] = ()
) -> BindingFact | None:
    """The binding to append after ``decision`` (None: none). Only a sale with a customer, credited to a
    leader by click or share code, binds; ``first`` keeps a binding in force, ``last`` replaces one of
    another leader (and renews one of the same leader)."""
    if decision is None or decision.method == "binding" or not decision.leader_id or not sale.customer_id:
        return None
    current = binding_in_force(bindings, sale.paid_at, rules.binding_mode)
    if current is not None:
        if rules.binding_mode == "first":
            return None
        if current.leader_id == decision.leader_id and current.bound_at == sale.paid_at:
            return None  # already made by this very sale
    expires = sale.paid_at + timedelta(days=rules.binding_days) if rules.binding_days > 0 else None
    return BindingFact(decision.leader_id, sale.paid_at, expires, decision.link_id)
