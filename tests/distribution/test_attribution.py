"""distribution.attribution: precedence, window, model and customer binding, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from distribution.attribution import (
    CLOCK_SKEW,
    BindingFact,
    ClickFact,
    Decision,
    LinkFact,
    Rules,
    SaleFacts,
    binding_in_force,
    decide,
    new_binding,
)

PAID = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RULES = Rules()


def click(cid: str, hours_before: float, leader: str = "lily", *, bot: bool = False) -> ClickFact:
    return ClickFact(cid, f"link-{leader}", PAID - timedelta(hours=hours_before), leader, bot)


def sale(**kw: object) -> SaleFacts:
    return SaleFacts(paid_at=PAID, **kw)  # type: ignore[arg-type]


def test_the_carried_click_wins_over_the_share_code_and_the_binding() -> None:
    binding = BindingFact("wang", PAID - timedelta(days=1))
    decision = decide(
        sale(click_id="c1", share_code="abc", customer_id="u1"),
        RULES,
        carried=click("c1", 2),
        share_link=LinkFact("link-zhao", "zhao"),
        bindings=[binding],
    )
    assert decision == Decision("click", "lily", "link-lily", "c1")


def test_the_share_code_comes_next_then_the_binding() -> None:
    facts = sale(share_code="abc", customer_id="u1")
    binding = BindingFact("wang", PAID - timedelta(days=1), link_id="link-wang")
    assert decide(facts, RULES, share_link=LinkFact("link-zhao", "zhao"), bindings=[binding]) == Decision(
        "share_code", "zhao", "link-zhao"
    )
    assert decide(facts, RULES, bindings=[binding]) == Decision("binding", "wang")  # unknown code: the binding
    assert decide(sale(), RULES) is None


def test_a_click_older_than_the_window_does_not_count() -> None:
    old = click("c1", 24 * 7 + 1)
    assert decide(sale(click_id="c1"), RULES, carried=old) is None
    assert decide(sale(click_id="c1"), Rules(window=timedelta(days=8)), carried=old) is not None
    edge = ClickFact("c2", "link-lily", PAID - timedelta(days=7), "lily")
    assert decide(sale(click_id="c2"), RULES, carried=edge) is not None
    late = ClickFact("c3", "link-lily", PAID + CLOCK_SKEW + timedelta(seconds=1), "lily")
    assert decide(sale(click_id="c3"), RULES, carried=late) is None


def test_the_carried_click_wins_outright_over_a_strangers_later_click() -> None:
    """Same hashed identity (carrier NAT, identical WeChat agents) is not the same person: a later click
    on another leader's link never takes the sale from the click the shop carried back."""
    carried = click("c-a", 10, "lily")
    stranger = [click("c-b", 1, "zhao"), click("c-early", 30, "wang")]
    for model in ("last_click", "first_click"):
        decision = decide(sale(click_id="c-a"), Rules(model=model), carried=carried, visitor_clicks=stranger)  # type: ignore[arg-type]
        assert decision == Decision("click", "lily", "link-lily", "c-a"), model


def test_first_click_credits_an_earlier_click_of_the_same_leader_only() -> None:
    carried = ClickFact("c-mid", "link-lily-2", PAID - timedelta(hours=10), "lily")
    visitor = [
        click("c-early", 30, "lily"),  # same leader, earlier: credited under first_click
        click("c-earlier-other", 40, "wang"),  # another leader: never
        click("c-old", 24 * 9, "lily"),  # out of the window
        click("c-after", 2, "lily"),  # after the carried click
    ]
    first = decide(sale(click_id="c-mid"), Rules(model="first_click"), carried=carried, visitor_clicks=visitor)
    last = decide(sale(click_id="c-mid"), RULES, carried=carried, visitor_clicks=visitor)
    assert first == Decision("click", "lily", "link-lily", "c-early")
    assert last == Decision("click", "lily", "link-lily-2", "c-mid")


def test_bots_among_the_visitors_clicks_never_count_but_a_carried_bot_click_does() -> None:
    carried = click("c1", 10, bot=True)
    decision = decide(sale(click_id="c1"), RULES, carried=carried, visitor_clicks=[click("c2", 1, "wang", bot=True)])
    assert decision is not None and decision.click_id == "c1"


def test_a_binding_applies_only_while_in_force_at_payment() -> None:
    expired = BindingFact("wang", PAID - timedelta(days=40), PAID - timedelta(days=10))
    future = BindingFact("zhao", PAID + timedelta(hours=1))
    forever = BindingFact("li", PAID - timedelta(days=400), None)
    assert binding_in_force([expired, future], PAID) is None
    assert binding_in_force([expired, future, forever], PAID) == forever
    assert decide(sale(customer_id="u1"), RULES, bindings=[expired]) is None


def test_the_first_binding_in_force_is_the_earliest_whatever_order_they_were_appended() -> None:
    """An import that stores a later sale (zhao) before an earlier one (wang) appends wang's binding
    after zhao's: in ``first`` mode wang's (the earliest bound_at) is the one in force."""
    wang = BindingFact("wang", PAID - timedelta(days=3), PAID + timedelta(days=27))
    zhao = BindingFact("zhao", PAID - timedelta(days=1), PAID + timedelta(days=29))
    for appended in ([zhao, wang], [wang, zhao]):
        assert binding_in_force(appended, PAID, "first") == wang
        assert binding_in_force(appended, PAID, "last") == zhao
        assert decide(sale(customer_id="u1"), RULES, bindings=appended) == Decision("binding", "wang")


def test_first_binding_wins_and_last_click_overrides() -> None:
    current = BindingFact("wang", PAID - timedelta(days=3), PAID + timedelta(days=27))
    decision = Decision("click", "lily", "link-lily", "c1")
    facts = sale(customer_id="u1", click_id="c1")
    assert new_binding(facts, decision, Rules(binding_mode="first"), [current]) is None
    replaced = new_binding(facts, decision, Rules(binding_mode="last"), [current])
    assert replaced == BindingFact("lily", PAID, PAID + timedelta(days=30), "link-lily")
    assert new_binding(facts, decision, Rules(binding_days=0)) == BindingFact("lily", PAID, None, "link-lily")


def test_only_credited_sales_with_a_customer_bind() -> None:
    decision = Decision("share_code", "lily", "link-lily")
    assert new_binding(sale(), decision, RULES) is None  # no customer
    assert new_binding(sale(customer_id="u1"), None, RULES) is None
    assert new_binding(sale(customer_id="u1"), Decision("binding", "wang"), RULES) is None
    assert new_binding(sale(customer_id="u1"), Decision("click", None, "link-x", "c1"), RULES) is None
    assert new_binding(sale(customer_id="u1"), decision, RULES) is not None


hours = st.floats(min_value=-0.05, max_value=24 * 10, allow_nan=False)
clicks = st.lists(
    st.tuples(hours, st.sampled_from(["lily", "wang", "zhao"]), st.booleans()),
    min_size=1,
    max_size=8,
    unique_by=lambda t: t[0],
)


@given(clicks, st.sampled_from(["last_click", "first_click"]))
def test_the_credit_stays_with_the_carried_clicks_leader(raw: list[tuple[float, str, bool]], model: str) -> None:
    facts = [
        ClickFact(f"c{i}", f"link-{leader}-{i}", PAID - timedelta(hours=h), leader, bot)
        for i, (h, leader, bot) in enumerate(raw)
    ]
    carried, others = facts[0], facts[1:]
    rules = Rules(model=model)  # type: ignore[arg-type]
    decision = decide(sale(click_id=carried.id), rules, carried=carried, visitor_clicks=others)
    if not PAID - rules.window <= carried.at <= PAID + CLOCK_SKEW:
        assert decision is None
        return
    assert decision is not None and decision.method == "click" and decision.leader_id == carried.leader_id
    chosen = next(c for c in facts if c.id == decision.click_id)
    if model == "last_click":
        assert chosen == carried
    else:
        same = [
            c
            for c in facts
            if c.leader_id == carried.leader_id
            and (c == carried or not c.bot)
            and PAID - rules.window <= c.at <= carried.at
        ]
        assert chosen.at == min(c.at for c in same)


@given(st.lists(st.tuples(st.integers(-60, 0), st.integers(0, 60)), max_size=6), st.sampled_from(["first", "last"]))
def test_at_most_one_binding_in_force_and_first_mode_never_adds_while_one_is(
    spans: list[tuple[int, int]], mode: str
) -> None:
    bindings = [
        BindingFact(f"l{i}", PAID + timedelta(days=start), PAID + timedelta(days=start + length) if length else None)
        for i, (start, length) in enumerate(spans)
    ]
    current = binding_in_force(bindings, PAID, mode)  # type: ignore[arg-type]
    if current is not None:
        assert current.bound_at <= PAID and (current.expires_at is None or current.expires_at > PAID)
    added = new_binding(
        sale(customer_id="u1"), Decision("click", "new", "link-new", "c"), Rules(binding_mode=mode), bindings
    )  # type: ignore[arg-type]
    if mode == "first":
        assert (added is None) == (current is not None)
    else:
        assert added is not None and binding_in_force([*bindings, added], PAID, "last") == added
