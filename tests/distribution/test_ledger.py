"""The ledger rules by example: which rate wins, percentages, rounding, and derived states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distribution import ledger as rules
from distribution.ledger import Batch, Entry, Line, Rate

T = datetime(2026, 5, 1, tzinfo=UTC)
RATES = [
    Rate(scope="default", level=1, kind="percent", basis_points=500),
    Rate(scope="leader", key="amy", level=1, kind="percent", basis_points=800),
    Rate(scope="product", key="TEA", level=1, kind="fixed", amount_per_unit=300),
    Rate(scope="product", key="USD-ONLY", level=1, kind="fixed", amount_per_unit=100, currency="USD"),
]


def test_product_over_leader_over_default() -> None:
    def pick(sku: str, leader: str) -> tuple[str, str]:
        rate = rules.choose_rate(RATES, sku=sku, leader_id=leader, level=1, currency="CNY")
        assert rate is not None
        return rate.scope, rate.key

    assert pick("TEA", "amy") == ("product", "TEA")
    assert pick("SOAP", "amy") == ("leader", "amy")
    assert pick("SOAP", "bob") == ("default", "")
    assert pick("USD-ONLY", "bob") == ("default", "")  # a fixed rate pays only in its own currency
    assert rules.choose_rate(RATES, sku="SOAP", leader_id="amy", level=2, currency="CNY") is None


def test_lines_round_down_and_fixed_never_exceeds_the_line() -> None:
    lines = [Line("SOAP", 1, 1_999), Line("TEA", 3, 500)]
    assert (
        rules.commission(lines, RATES, leader_id="bob", level=1, currency="CNY") == 99 + 500
    )  # 99.95 -> 99; 900 capped
    assert rules.commission([], RATES, leader_id="bob", level=1, currency="CNY") == 0


@pytest.mark.parametrize(("text", "points"), [("5.5", 550), ("5", 500), ("0", 0), ("100", 10_000), ("12.25%", 1_225)])
def test_percentages(text: str, points: int) -> None:
    assert rules.parse_percent(text) == points
    assert rules.parse_percent(rules.format_percent(points)) == points


@pytest.mark.parametrize("text", ["abc", "1.234", "-1", "100.01", "nan", "inf", ""])
def test_bad_percentages(text: str) -> None:
    with pytest.raises(rules.LedgerRuleError):
        rules.parse_percent(text)


def test_states_follow_the_entries_and_batches_after_them() -> None:
    frozen_until = T + timedelta(days=7)
    entries = [
        Entry(1, "amy", rules.COMMISSION, 1_000, available_at=frozen_until),
        Entry(2, "amy", rules.COMMISSION, 700, available_at=T + timedelta(days=20)),
        Entry(3, "amy", rules.PAYOUT, -1_000, batch_id="b1", available_at=T + timedelta(days=8)),
        Entry(4, "amy", rules.CLAWBACK, -400, refers_to=1, available_at=T + timedelta(days=9)),
    ]
    open_batch = {"b1": Batch("b1", created_at=T + timedelta(days=8))}
    states = rules.derive_states(entries, open_batch, now=T + timedelta(days=10))
    assert {seq: (s.state, s.taken_by) for seq, s in states.items()} == {
        1: ("in_payout", 3),
        2: ("pending", None),
        3: ("in_payout", None),
        4: ("available", None),
    }
    confirmed = {"b1": Batch("b1", created_at=T + timedelta(days=8), confirmed_at=T + timedelta(days=9))}
    states = rules.derive_states(entries, confirmed, now=T + timedelta(days=21))
    assert [states[seq].state for seq in (1, 2, 3, 4)] == ["paid", "available", "paid", "available"]
    balances = rules.balances(entries, states, currency="CNY")
    assert (balances.available, balances.paid, balances.debt, balances.balance) == (300, 1_000, 0, 300)
    plan = rules.payout_plan(entries, states, currency="CNY", minimum=300)
    assert plan == [rules.PayoutLine("amy", 300, 2)]  # the clawback is netted against what became available
    assert rules.payout_plan(entries, states, currency="CNY", minimum=301) == []
