"""Commission arithmetic on an append-only ledger (pure: no database, no clock of its own).

Money is integer minor units (fen for CNY). The rules, decided once here:

- **Rates.** A rate is ``percent`` (basis points of a line's amount: 100 = 1 %) or ``fixed`` (minor units per
  unit sold, in the rate's currency; it applies only to sales in that currency and never pays more than the
  line's amount). For each sale line and level the most specific rate wins: **product** (``key`` = SKU) over
  **leader** (``key`` = the leader who earns the entry: for level 2 that is the recruiter) over **default**.
  Level 2 pays the recruiting leader (``Leader.recruiter_id``) only when a level-2 rate matches.
- **Rounding.** Each line's commission is rounded **down** (floor) to a whole minor unit: a rate never pays more
  than it says. A sale's commission is the sum of its lines'.
- **Refunds.** For a commission ``earned`` on a sale of ``amount``, a cumulative refund ``r`` reverses
  ``floor(earned * r / amount)`` in total (all of it once the sale is ``refunded`` or ``cancelled``). Each change
  appends only the difference from what was already reversed, computed from cumulative values, so rounding never
  drifts and a full refund reverses exactly what was earned. A refund never re-credits (the total only grows).
- **Reversal or clawback.** While the commission has not been taken by a payout its refund is a ``reversal``
  (same ``available_at`` as the commission, so it nets against it). Once a payout line took it (batch confirmed or
  not) the refund is a ``clawback``, available at once: a debt netted against the next payout. Nothing is capped
  at the current balance; a balance may go negative and the debt is carried.
- **Signs.** Commissions are positive, reversals, clawbacks and payout lines negative (money out), so a leader's
  balance is the plain sum of their entries.
- **States** (derived, never stored). A payout line takes every earlier entry of its leader and currency not taken
  before whose ``available_at`` is at or before its batch's ``created_at``. An entry taken by a line of a confirmed
  batch is ``paid``, of an unconfirmed one ``in_payout``; otherwise ``pending`` while ``now < available_at``, then
  ``available``. A payout takes a leader's available entries when their sum is positive and at least the minimum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from distribution.errors import DistributionError

BASIS_POINTS = 10_000  # 100 %
SCOPES = ("product", "leader", "default")  # most specific first
RATE_KINDS = ("percent", "fixed")
LEVELS = (1, 2)
VOID_STATUSES = ("refunded", "cancelled")
COMMISSION, REVERSAL, CLAWBACK, PAYOUT = "commission", "reversal", "clawback", "payout"
PENDING, AVAILABLE, IN_PAYOUT, PAID = "pending", "available", "in_payout", "paid"
TAKEN_STATES = (IN_PAYOUT, PAID)


class LedgerRuleError(DistributionError):
    """A rate or amount that the ledger cannot use; the message says which and why."""


@dataclass(frozen=True)
class Rate:
    """One commission rate (see the module docstring for how one is chosen)."""

    scope: str
    level: int
    kind: str
    key: str = ""
    basis_points: int | None = None
    amount_per_unit: int | None = None
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise LedgerRuleError(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if self.level not in LEVELS:
            raise LedgerRuleError(f"level must be 1 or 2, not {self.level!r}")
        if (self.scope == "default") != (not self.key):
            raise LedgerRuleError("a default rate has no key; a product or leader rate needs one")
        if self.kind == "percent":
            if self.basis_points is None or not 0 <= self.basis_points <= BASIS_POINTS:
                raise LedgerRuleError("a percent rate needs a percentage from 0 to 100")
        elif self.kind == "fixed":
            if self.amount_per_unit is None or self.amount_per_unit < 0:
                raise LedgerRuleError("a fixed rate needs a non-negative amount per unit (minor units)")
        else:
            raise LedgerRuleError(f"kind must be percent or fixed, not {self.kind!r}")


@dataclass(frozen=True)
class Line:
    """A sale line: SKU, quantity and the amount paid for it."""

    sku: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class SaleFacts:
    """What the ledger needs of a sale: its money, status, lines and whom it is credited to."""

    id: str
    amount: int
    refund_amount: int
    status: str
    currency: str
    paid_at: datetime
    lines: tuple[Line, ...]
    leader_id: str | None
    recruiter_id: str | None = None


@dataclass(frozen=True)
class Entry:
    """A ledger entry as stored (``seq`` orders them)."""

    seq: int
    leader_id: str
    kind: str
    amount: int
    currency: str = "CNY"
    level: int = 1
    sale_id: str | None = None
    batch_id: str | None = None
    refers_to: int | None = None
    available_at: datetime | None = None


@dataclass(frozen=True)
class NewEntry:
    """An entry to append (the store gives it its ``seq``)."""

    leader_id: str
    kind: str
    amount: int
    currency: str
    level: int = 1
    sale_id: str | None = None
    refers_to: int | None = None
    available_at: datetime | None = None
    batch_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Batch:
    """A payout batch: when it was made and, once the money went out, when it was confirmed."""

    id: str
    created_at: datetime
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class State:
    """An entry's derived state and, when a payout line took it, that line's ``seq``."""

    state: str
    taken_by: int | None = None


@dataclass(frozen=True)
class PayoutLine:
    """What a new batch pays one leader: ``amount`` (positive, money out) over ``entries`` available entries."""

    leader_id: str
    amount: int
    entries: int


@dataclass
class Balances:
    """A leader's account in one currency. ``balance`` = ``pending`` + ``available`` = the sum of every entry;
    ``debt`` is what the leader owes (a negative available balance), netted against later earnings."""

    pending: int = 0
    available: int = 0
    in_payout: int = 0
    paid: int = 0
    earned: int = 0
    reversed: int = 0
    clawed_back: int = 0
    entries: int = 0

    @property
    def balance(self) -> int:
        return self.pending + self.available

    @property
    def debt(self) -> int:
        return max(0, -self.available)

    def as_dict(self) -> dict[str, int]:
        shown = {k: v for k, v in asdict(self).items() if k != "entries"}
        return {**shown, "debt": self.debt, "balance": self.balance}


# --- rates ----------------------------------------------------------------------------------------


def parse_percent(text: str | int | float | Decimal) -> int:
    """A percentage such as ``"5.5"`` as basis points (550); at most two decimals, 0 to 100."""
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise LedgerRuleError(f"{text!r} is not a percentage (e.g. 5.5)") from None
    points = value * 100
    if not value.is_finite() or points != points.to_integral_value():
        raise LedgerRuleError(f"{text!r}: a percentage has at most two decimals")
    if not 0 <= points <= BASIS_POINTS:
        raise LedgerRuleError(f"{text!r}: a percentage is from 0 to 100")
    return int(points)


def format_percent(basis_points: int) -> str:
    """550 -> ``"5.5"``, 500 -> ``"5"``."""
    return format(Decimal(basis_points).scaleb(-2).normalize(), "f")


def choose_rate(rates: Iterable[Rate], *, sku: str, leader_id: str, level: int, currency: str) -> Rate | None:
    """The rate for one line: product over leader over default (fixed rates only in their own currency)."""
    wanted = {"product": sku, "leader": leader_id, "default": ""}
    best: Rate | None = None
    for rate in rates:
        if (
            rate.level != level
            or rate.key != wanted[rate.scope]
            or (rate.kind == "fixed" and rate.currency != currency)
        ):
            continue
        if best is None or SCOPES.index(rate.scope) < SCOPES.index(best.scope):
            best = rate
    return best


def line_commission(line: Line, rate: Rate) -> int:
    """One line's commission, rounded down; a fixed rate never pays more than the line's amount."""
    amount = max(0, line.amount)
    if rate.kind == "percent":
        return amount * (rate.basis_points or 0) // BASIS_POINTS
    return min(amount, max(0, line.quantity) * (rate.amount_per_unit or 0))


def commission(lines: Sequence[Line], rates: Sequence[Rate], *, leader_id: str, level: int, currency: str) -> int:
    """The commission a sale's lines pay ``leader_id`` at ``level`` (0 when no rate matches)."""
    total = 0
    for line in lines:
        rate = choose_rate(rates, sku=line.sku, leader_id=leader_id, level=level, currency=currency)
        if rate is not None:
            total += line_commission(line, rate)
    return total


def reversal_target(earned: int, *, amount: int, refund_amount: int, status: str) -> int:
    """How much of ``earned`` a sale's cumulative refund reverses in total: all of it when the sale is refunded
    or cancelled, else ``floor(earned * refund / amount)``."""
    if status in VOID_STATUSES:
        return earned
    if amount <= 0 or refund_amount <= 0:
        return 0
    return earned * min(refund_amount, amount) // amount


# --- a sale's entries -----------------------------------------------------------------------------


def new_commissions(sale: SaleFacts, rates: Sequence[Rate], *, freeze: timedelta) -> list[NewEntry]:
    """The commissions a newly attributed sale earns: level 1 for its leader, level 2 for their recruiter when a
    level-2 rate matches. None for a sale without a leader or already refunded or cancelled when first seen."""
    if sale.leader_id is None or sale.status in VOID_STATUSES:
        return []
    available_at = sale.paid_at + freeze
    lines = sale.lines or (Line(sku="", quantity=1, amount=sale.amount),)
    earners = [(sale.leader_id, 1)]
    if sale.recruiter_id and sale.recruiter_id != sale.leader_id:
        earners.append((sale.recruiter_id, 2))
    entries = []
    for leader_id, level in earners:
        amount = commission(lines, rates, leader_id=leader_id, level=level, currency=sale.currency)
        if amount > 0:
            entries.append(
                NewEntry(
                    leader_id=leader_id,
                    kind=COMMISSION,
                    amount=amount,
                    currency=sale.currency,
                    level=level,
                    sale_id=sale.id,
                    available_at=available_at,
                )
            )
    return entries


def refund_entries(
    sale: SaleFacts, sale_entries: Sequence[Entry], states: Mapping[int, State], *, now: datetime
) -> list[NewEntry]:
    """The reversals or clawbacks a sale's refund or cancellation still owes, one per commission entry of the sale
    that is short of its :func:`reversal_target`. Nothing when nothing changed."""
    answered: dict[int, int] = defaultdict(int)
    for entry in sale_entries:
        if entry.kind in (REVERSAL, CLAWBACK) and entry.refers_to is not None:
            answered[entry.refers_to] -= entry.amount
    out = []
    for entry in sale_entries:
        if entry.kind != COMMISSION:
            continue
        target = reversal_target(entry.amount, amount=sale.amount, refund_amount=sale.refund_amount, status=sale.status)
        due = target - answered[entry.seq]
        if due <= 0:
            continue
        taken = states.get(entry.seq, State(PENDING)).state in TAKEN_STATES
        out.append(
            NewEntry(
                leader_id=entry.leader_id,
                kind=CLAWBACK if taken else REVERSAL,
                amount=-due,
                currency=entry.currency,
                level=entry.level,
                sale_id=entry.sale_id,
                refers_to=entry.seq,
                available_at=now if taken else entry.available_at,
                note=f"refund {min(sale.refund_amount, sale.amount)}/{sale.amount} ({sale.status})",
            )
        )
    return out


# --- states, payouts, balances --------------------------------------------------------------------


def derive_states(entries: Iterable[Entry], batches: Mapping[str, Batch], *, now: datetime) -> dict[int, State]:
    """Every entry's state by ``seq`` (see the module docstring). ``entries`` must hold all of each leader's
    entries, in any order; payout lines need their batch in ``batches``."""
    ordered = sorted(entries, key=lambda e: e.seq)
    untaken: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    states: dict[int, State] = {}
    for entry in ordered:
        if entry.kind != PAYOUT:
            untaken[(entry.leader_id, entry.currency)].append(entry)
            continue
        batch = batches.get(entry.batch_id or "")
        if batch is None:
            raise LedgerRuleError(f"payout entry {entry.seq} names an unknown batch {entry.batch_id!r}")
        state = PAID if batch.confirmed_at is not None else IN_PAYOUT
        states[entry.seq] = State(state)
        waiting = untaken[(entry.leader_id, entry.currency)]
        keep = []
        for earlier in waiting:
            if earlier.available_at is None or earlier.available_at <= batch.created_at:
                states[earlier.seq] = State(state, taken_by=entry.seq)
            else:
                keep.append(earlier)
        untaken[(entry.leader_id, entry.currency)] = keep
    for waiting in untaken.values():
        for entry in waiting:
            frozen = entry.available_at is not None and now < entry.available_at
            states[entry.seq] = State(PENDING if frozen else AVAILABLE)
    return states


def payout_plan(
    entries: Iterable[Entry], states: Mapping[int, State], *, currency: str, minimum: int
) -> list[PayoutLine]:
    """What a batch made now pays: per leader, the sum of their available entries in ``currency`` (commissions
    less reversals and clawbacks) when it is positive and at least ``minimum``. A debt stays to be netted later."""
    sums: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.kind != PAYOUT and entry.currency == currency and states[entry.seq].state == AVAILABLE:
            sums[entry.leader_id] += entry.amount
            counts[entry.leader_id] += 1
    return [
        PayoutLine(leader_id=leader, amount=total, entries=counts[leader])
        for leader, total in sorted(sums.items())
        if total > 0 and total >= minimum
    ]


def balances(entries: Iterable[Entry], states: Mapping[int, State], *, currency: str) -> Balances:
    """One leader's balances in ``currency`` (``entries`` are theirs)."""
    out = Balances()
    for entry in entries:
        if entry.currency != currency:
            continue
        out.entries += 1
        state = states[entry.seq].state
        if entry.kind == PAYOUT:
            if state == PAID:
                out.paid -= entry.amount
            else:
                out.in_payout -= entry.amount
            continue
        if entry.kind == COMMISSION:
            out.earned += entry.amount
        elif entry.kind == REVERSAL:
            out.reversed -= entry.amount
        elif entry.kind == CLAWBACK:
            out.clawed_back -= entry.amount
        if state == PENDING:
            out.pending += entry.amount
        elif state == AVAILABLE:
            out.available += entry.amount
    return out
