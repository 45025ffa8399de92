"""An in-memory ledger driven by :mod:`distribution.ledger` (the same rules the services run on the database),
random scenarios for it, and an independent oracle of what a sale should earn and reverse."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from distribution import ledger as rules
from distribution.ledger import Batch, Entry, Line, NewEntry, Rate, SaleFacts, State

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FREEZE = timedelta(days=7)
LEADERS = ("la", "lb", "lc")
SKUS = ("A", "B", "C")


@dataclass
class Model:
    """Sales, entries and batches in memory; every change appends entries the way the services do."""

    rates: list[Rate]
    recruiters: dict[str, str | None]
    now: datetime = START
    sales: dict[str, SaleFacts] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    batches: dict[str, Batch] = field(default_factory=dict)

    def append(self, new: list[NewEntry]) -> list[Entry]:
        out = []
        for e in new:
            entry = Entry(
                seq=len(self.entries) + 1,
                leader_id=e.leader_id,
                kind=e.kind,
                amount=e.amount,
                currency=e.currency,
                level=e.level,
                sale_id=e.sale_id,
                batch_id=e.batch_id,
                refers_to=e.refers_to,
                available_at=e.available_at,
            )
            self.entries.append(entry)
            out.append(entry)
        return out

    def states(self) -> dict[int, State]:
        return rules.derive_states(self.entries, self.batches, now=self.now)

    def sale_changed(self, sale_id: str, *, created: bool = False) -> list[Entry]:
        """As :func:`services.ledger.on_sale_changed`: commissions only when the sale is ``created``."""
        sale = self.sales[sale_id]
        added: list[Entry] = []
        if created and not any(e.sale_id == sale_id and e.kind == rules.COMMISSION for e in self.entries):
            added += self.append(rules.new_commissions(sale, self.rates, freeze=FREEZE))
        mine = [e for e in self.entries if e.sale_id == sale_id]
        added += self.append(rules.refund_entries(sale, mine, self.states(), now=self.now))
        return added

    def add_sale(self, leader: str, lines: list[Line]) -> str:
        sale_id = f"s{len(self.sales) + 1}"
        amount = sum(line.amount for line in lines)
        self.sales[sale_id] = SaleFacts(
            id=sale_id,
            amount=amount,
            refund_amount=0,
            status="paid",
            currency="CNY",
            paid_at=self.now,
            lines=tuple(lines),
            leader_id=leader,
            recruiter_id=self.recruiters.get(leader),
        )
        return sale_id

    def refund(self, sale_id: str, more: int) -> None:
        sale = self.sales[sale_id]
        total = min(sale.amount, sale.refund_amount + more)
        status = "refunded" if total >= sale.amount else ("partially_refunded" if total else sale.status)
        if sale.status in rules.VOID_STATUSES:  # refunded and cancelled are final
            status = sale.status
        self.sales[sale_id] = replace(sale, refund_amount=total, status=status)

    def cancel(self, sale_id: str) -> None:
        self.sales[sale_id] = replace(self.sales[sale_id], status="cancelled")

    def payout(self, minimum: int) -> str | None:
        plan = rules.payout_plan(self.entries, self.states(), currency="CNY", minimum=minimum)
        if not plan:
            return None
        batch_id = f"b{len(self.batches) + 1}"
        self.batches[batch_id] = Batch(id=batch_id, created_at=self.now)
        self.append(
            [
                NewEntry(line.leader_id, rules.PAYOUT, -line.amount, "CNY", batch_id=batch_id, available_at=self.now)
                for line in plan
            ]
        )
        return batch_id

    def confirm(self, batch_id: str) -> None:
        self.batches[batch_id] = replace(self.batches[batch_id], confirmed_at=self.now)

    def balances(self, leader: str) -> rules.Balances:
        mine = [e for e in self.entries if e.leader_id == leader]
        return rules.balances(mine, self.states(), currency="CNY")


# --- an oracle written apart from the rules ---------------------------------------------------------


def expected_commission(rates: list[Rate], lines: tuple[Line, ...], leader: str, level: int) -> int:
    """Per line: the product rate, else the leader's, else the default; floor; fixed capped at the line."""
    total = 0
    for line in lines:
        found = [r for r in rates if r.level == level and r.scope == "product" and r.key == line.sku]
        found = found or [r for r in rates if r.level == level and r.scope == "leader" and r.key == leader]
        found = found or [r for r in rates if r.level == level and r.scope == "default"]
        if not found:
            continue
        rate = found[0]
        if rate.kind == "percent":
            total += (line.amount * (rate.basis_points or 0)) // 10_000
        else:
            total += min(line.amount, line.quantity * (rate.amount_per_unit or 0))
    return total


def expected_reversed(earned: int, sale: SaleFacts) -> int:
    if sale.status in ("refunded", "cancelled"):
        return earned
    return (earned * sale.refund_amount) // sale.amount if sale.amount else 0


# --- scenarios ------------------------------------------------------------------------------------

percent_rates = st.one_of(st.integers(100, 3000), st.integers(0, 3000))
lines_st = st.lists(
    st.builds(
        Line,
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 5),
        amount=st.one_of(st.integers(1_000, 50_000), st.integers(0, 50_000)),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def rate_sets(draw: st.DrawFn) -> list[Rate]:
    rates = [Rate(scope="default", level=1, kind="percent", basis_points=draw(percent_rates))]
    if draw(st.booleans()):
        rates.append(Rate(scope="default", level=2, kind="percent", basis_points=draw(percent_rates)))
    if draw(st.booleans()):
        rates.append(Rate(scope="product", key="A", level=1, kind="fixed", amount_per_unit=draw(st.integers(0, 2000))))
    if draw(st.booleans()):
        rates.append(Rate(scope="leader", key="lb", level=1, kind="percent", basis_points=draw(percent_rates)))
    if draw(st.booleans()):
        rates.append(Rate(scope="product", key="B", level=2, kind="percent", basis_points=draw(percent_rates)))
    return rates


@st.composite
def recruiter_maps(draw: st.DrawFn) -> dict[str, str | None]:
    return {
        "la": None,
        "lb": draw(st.sampled_from([None, "la"])),
        "lc": draw(st.sampled_from([None, "la", "lb"])),
    }


sale_step = st.tuples(st.just("sale"), st.sampled_from(LEADERS), lines_st)
time_step = st.tuples(st.just("time"), st.sampled_from([1, 30, 8 * 24, 20 * 24]))
payout_step = st.tuples(st.just("payout"), st.one_of(st.just(0), st.integers(0, 3000)))
#: sales, time and payouts come more often than refunds and cancellations, so that money gets paid out
#: before it is refunded (and clawed back)
step_st = st.one_of(
    sale_step,
    sale_step,
    time_step,
    time_step,
    payout_step,
    payout_step,
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 60_000)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("confirm"), st.integers(0, 10)),
    st.tuples(st.just("repeat"), st.integers(0, 20)),
)
