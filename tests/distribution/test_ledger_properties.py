"""Property tests of the ledger rules: random sales, refunds (partial, growing, full), cancellations, time past the
freeze, payouts above a minimum and confirmations, for three leaders with recruiters. The ledger always sums to
what was earned less what was refunded and paid out, refunds reverse exactly what they should, and nothing taken
or paid ever changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from distribution import ledger as rules
from tests.support.ledger_model import (
    FREEZE,
    LEADERS,
    Model,
    expected_commission,
    expected_reversed,
    rate_sets,
    recruiter_maps,
    step_st,
)


def run_step(model: Model, step: tuple[Any, ...]) -> None:
    """Apply one step, checking what it appended against the oracle and the state before it."""
    kind = step[0]
    sale_ids = sorted(model.sales)
    before = model.states()
    if kind == "sale":
        sale_id = model.add_sale(step[1], step[2])
        added = model.sale_changed(sale_id, created=True)
        sale = model.sales[sale_id]
        level1 = [e for e in added if e.kind == rules.COMMISSION and e.level == 1]
        level2 = [e for e in added if e.kind == rules.COMMISSION and e.level == 2]
        assert sum(e.amount for e in level1) == expected_commission(model.rates, sale.lines, step[1], 1)
        recruiter = model.recruiters[step[1]]
        want2 = expected_commission(model.rates, sale.lines, recruiter, 2) if recruiter else 0
        assert sum(e.amount for e in level2) == want2
        assert all(e.leader_id == recruiter for e in level2)
        assert all(e.available_at == model.now + FREEZE for e in level1 + level2)
        return
    if kind in ("refund", "cancel", "repeat") and step[1] < len(sale_ids):  # else a no-op: most sales stay
        sale_id = sale_ids[step[1]]
        if kind == "refund":
            model.refund(sale_id, step[2])
        elif kind == "cancel":
            model.cancel(sale_id)
        added = model.sale_changed(sale_id)
        for entry in added:  # before payout a reversal, after it a clawback available at once
            taken = before[entry.refers_to or 0].state in rules.TAKEN_STATES
            assert entry.kind == (rules.CLAWBACK if taken else rules.REVERSAL)
            assert entry.amount < 0
            if taken:
                assert entry.available_at == model.now
        assert model.sale_changed(sale_id) == []  # idempotent
        check_sale(model, sale_id)
    elif kind == "time":
        model.now += timedelta(hours=step[1])
    elif kind == "payout":
        check_payout(model, step[1])
    elif kind == "confirm" and model.batches:
        batch_id = sorted(model.batches)[step[1] % len(model.batches)]
        if model.batches[batch_id].confirmed_at is None:
            model.confirm(batch_id)


def check_sale(model: Model, sale_id: str) -> None:
    sale = model.sales[sale_id]
    for entry in model.entries:
        if entry.sale_id == sale_id and entry.kind == rules.COMMISSION:
            answered = -sum(e.amount for e in model.entries if e.refers_to == entry.seq)
            assert answered == expected_reversed(entry.amount, sale)


def check_payout(model: Model, minimum: int) -> None:
    before = model.states()
    available = {leader: 0 for leader in LEADERS}
    for entry in model.entries:
        if entry.kind != rules.PAYOUT and before[entry.seq].state == rules.AVAILABLE:
            available[entry.leader_id] += entry.amount
    batch_id = model.payout(minimum)
    lines = [e for e in model.entries if e.batch_id == batch_id] if batch_id else []
    paid = {e.leader_id: -e.amount for e in lines}
    for leader, total in available.items():
        if total > 0 and total >= minimum:
            assert paid[leader] == total  # everything available, debts netted, goes out
        else:
            assert leader not in paid  # below the minimum or a debt: carried
    after = model.states()
    for line in lines:
        took = [e for e in model.entries if after[e.seq].taken_by == line.seq]
        assert sum(e.amount for e in took) == -line.amount
        assert all(before[e.seq].state == rules.AVAILABLE for e in took)


def check_invariants(model: Model, snapshot: dict[int, tuple[Any, ...]]) -> None:
    states = model.states()
    for seq, (entry, state) in snapshot.items():  # nothing appended earlier changes; taken and paid stay so
        assert model.entries[seq - 1] == entry
        if state.state in rules.TAKEN_STATES:
            now = states[seq]
            assert now.taken_by == state.taken_by or (state.taken_by is None and now.state in rules.TAKEN_STATES)
            assert state.state != rules.PAID or now.state == rules.PAID
    for leader in LEADERS:
        b = model.balances(leader)
        mine = [e for e in model.entries if e.leader_id == leader]
        assert sum(e.amount for e in mine) == b.balance == b.pending + b.available
        assert b.paid + b.in_payout + b.balance == b.earned - b.reversed - b.clawed_back  # no money lost
        assert b.reversed >= 0 and b.clawed_back >= 0 and b.paid >= 0 and b.in_payout >= 0
        assert b.pending >= 0  # frozen money is never a debt
    snapshot.clear()
    snapshot.update({e.seq: (e, states[e.seq]) for e in model.entries})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=rate_sets(), recruiters=recruiter_maps(), steps=st.lists(step_st, min_size=10, max_size=40))
def test_random_histories_keep_the_ledger_whole(rates, recruiters, steps) -> None:
    model = Model(rates=rates, recruiters=recruiters)
    snapshot: dict[int, Any] = {}
    for step in steps:
        run_step(model, step)
        check_invariants(model, snapshot)
    kinds = {e.kind for e in model.entries}
    event(f"before the final refunds: payout {rules.PAYOUT in kinds}, clawback {rules.CLAWBACK in kinds}")
    # refund everything, let the freeze pass, pay out, confirm: nothing earned remains, and money paid for
    # refunded sales is exactly the debt carried
    for sale_id in sorted(model.sales):
        model.refund(sale_id, model.sales[sale_id].amount)
        model.sale_changed(sale_id)
        check_invariants(model, snapshot)
    model.now += FREEZE + timedelta(days=1)
    check_payout(model, 0)
    for batch_id in sorted(model.batches):
        if model.batches[batch_id].confirmed_at is None:
            model.confirm(batch_id)
    check_invariants(model, snapshot)
    event(f"at the end: a debt carried {any(model.balances(leader).debt for leader in LEADERS)}")
    for leader in LEADERS:
        b = model.balances(leader)
        assert b.earned - b.reversed - b.clawed_back == 0
        assert b.pending == 0 and b.in_payout == 0
        assert b.balance == -b.paid  # what was paid for refunded sales is owed
        assert b.debt == b.paid


@settings(max_examples=200, deadline=None)
@given(
    earned=st.integers(0, 10**9),
    amount=st.integers(1, 10**9),
    refunds=st.lists(st.integers(0, 10**9), min_size=1, max_size=8),
)
def test_cumulative_reversals_never_drift(earned: int, amount: int, refunds: list[int]) -> None:
    """Appending differences of cumulative floors: the total always equals the floor of the cumulative refund,
    and a full refund reverses exactly what was earned."""
    reversed_so_far = 0
    cumulative = 0
    for more in refunds:
        cumulative = min(amount, cumulative + more)
        target = rules.reversal_target(earned, amount=amount, refund_amount=cumulative, status="partially_refunded")
        assert target >= reversed_so_far
        reversed_so_far = target
        assert reversed_so_far == earned * cumulative // amount
    assert rules.reversal_target(earned, amount=amount, refund_amount=amount, status="partially_refunded") == earned
    assert rules.reversal_target(earned, amount=amount, refund_amount=0, status="refunded") == earned
