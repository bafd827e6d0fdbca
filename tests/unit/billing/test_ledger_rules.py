"""The pure ledger: postings, double entries, alerts once per crossing, runway."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain.alerts import crossings
from services.billing.domain.ledger import (
    AccountState,
    LedgerRuleViolation,
    Posting,
    apply,
    double_entries,
    tenant_account,
)
from services.billing.domain.runway import projected_days_left

KINDS = ("topup", "bonus", "usage", "refund", "adjustment")


def postings():
    def valid(kind, amount):
        return {"topup": abs(amount) or 1, "usage": -abs(amount), "refund": -(abs(amount) or 1)}.get(kind, amount)

    return st.builds(
        lambda k, a, i: Posting(k, valid(k, a), f"src:{i}"),
        st.sampled_from(KINDS),
        st.integers(-(10**6), 10**6),
        st.integers(),
    )


@pytest.mark.parametrize(("kind", "amount"), [("topup", 0), ("topup", -1), ("usage", 1), ("refund", 0), ("refund", 5)])
def test_a_posting_with_the_wrong_sign_for_its_kind_is_refused(kind, amount):
    with pytest.raises(LedgerRuleViolation):
        Posting(kind, amount, "src")


def test_usage_of_zero_and_negative_bonus_and_adjustments_either_way_are_allowed():
    Posting("usage", 0, "a"), Posting("bonus", -5, "b"), Posting("adjustment", 7, "c"), Posting("adjustment", -7, "d")


@given(st.lists(postings(), max_size=40), st.integers(-(10**6), 10**6), st.integers(0, 10**5))
def test_balance_is_the_sum_of_the_tenant_entries_and_every_posting_balances_to_zero(ps, start, threshold):
    state = AccountState("t", start, threshold_cents=threshold)
    tenant_sum, all_sum = start, 0
    for p in ps:
        before = state.balance_cents
        state, applied = apply(state, p)
        entries = double_entries("t", p)
        assert sum(a for _, a in entries) == 0
        assert entries[0][0] == tenant_account("t")
        tenant_sum += entries[0][1]
        all_sum += sum(a for _, a in entries)
        assert (applied.balance_before, applied.balance_after) == (before, state.balance_cents)
    assert state.balance_cents == tenant_sum and all_sum == 0


def test_usage_is_never_rejected_and_the_balance_goes_below_zero():
    state, applied = apply(AccountState("t", 100, threshold_cents=50), Posting("usage", -500, "u"))
    assert state.balance_cents == -400
    assert applied.alerts == ["balance.low", "balance.depleted"]


@pytest.mark.parametrize(
    ("before", "after", "alerts"),
    [
        (1000, 999, ["balance.low"]),  # from at the threshold to below it
        (1001, 1000, []),  # still at the threshold
        (999, 500, []),  # already below: no second alert
        (1, 0, ["balance.depleted"]),  # from above zero to zero
        (0, -1, []),  # already depleted
        (5000, -5, ["balance.low", "balance.depleted"]),
        (500, 2000, []),  # credits never alert
    ],
)
def test_crossings(before, after, alerts):
    assert crossings(before=before, after=after, threshold=1000) == alerts


@given(st.integers(-(10**5), 10**5), st.integers(0, 10**4), st.lists(st.integers(-5000, 5000), max_size=60))
def test_alerts_fire_once_per_crossing_never_once_per_debit(start, threshold, moves):
    """Between two `balance.low` alerts the balance must have come back to or above the threshold."""
    balance, armed_low, armed_depleted = start, start >= threshold, start > 0
    for move in moves:
        after = balance + move
        alerts = crossings(before=balance, after=after, threshold=threshold)
        assert ("balance.low" in alerts) == (armed_low and after < threshold)
        assert ("balance.depleted" in alerts) == (armed_depleted and after <= 0)
        armed_low, armed_depleted, balance = after >= threshold, after > 0, after


def test_available_is_balance_minus_holds():
    assert AccountState("t", 1000, held_cents=300).available_cents == 700
    assert AccountState("t", -50, held_cents=0).available_cents == -50


@pytest.mark.parametrize(
    ("available", "days", "expected"),
    [
        (7000, [0] * 6 + [700], 70),  # 700 in 7 days = 100/day → 70 days
        (1000, [100] * 7, 10),
        (1050, [100] * 7, 10),  # floored
        (999, [100] * 7, 9),
        (5000, [0] * 30, None),  # no usage: no projection
        (5000, [], None),
        (0, [100] * 7, 0),  # nothing available
        (-300, [100] * 7, 0),
        (-300, [0] * 7, 0),
        (700, [10_000] * 23 + [0] * 6 + [100], 49),  # only the last 7 days count
    ],
)
def test_runway(available, days, expected):
    assert projected_days_left(available_cents=available, usage_last_days=days) == expected


@given(st.integers(1, 10**9), st.lists(st.integers(0, 10**7), min_size=7, max_size=30))
def test_runway_is_exact_integer_arithmetic(available, days):
    recent = sum(days[-7:])
    expected = None if recent == 0 else available * 7 // recent
    assert projected_days_left(available_cents=available, usage_last_days=days) == expected
