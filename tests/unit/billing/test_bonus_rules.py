"""Bonus tiers (TOPUP_BONUS_TIERS) and the share of a bonus that refunds reverse (PRODUCT.md)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.domain.bonus import bonus_to_reverse
from services.payments.domain.bonus import BonusTier, InvalidTiers, bonus_for, parse_tiers

DEFAULT = parse_tiers("10000:5,25000:10,50000:15")


def test_default_tiers_parse_sorted():
    assert (BonusTier(10000, 5), BonusTier(25000, 10), BonusTier(50000, 15)) == DEFAULT
    assert parse_tiers(" 50000:15 , 10000:5,25000:10 ,") == DEFAULT


def test_empty_spec_means_no_bonus():
    assert parse_tiers("") == ()
    assert bonus_for(1_000_000, parse_tiers("")) == 0


@pytest.mark.parametrize("spec", ["10000", "10000:5:1", "a:5", "10000:x", "-1:5", "10000:101", "10000:-1", "1.5:5"])
def test_malformed_tiers_are_refused(spec):
    with pytest.raises(InvalidTiers):
        parse_tiers(spec)


@pytest.mark.parametrize(
    ("amount", "bonus"),
    [
        (1000, 0),
        (9999, 0),  # below the first tier
        (10000, 500),
        (24999, 1249),  # +5 % from 100 €, fractions of a cent dropped
        (25000, 2500),
        (49999, 4999),  # +10 % from 250 €
        (50000, 7500),
        (1_000_000, 150_000),  # +15 % from 500 €
    ],
)
def test_the_highest_reached_tier_applies_to_the_whole_amount(amount, bonus):
    assert bonus_for(amount, DEFAULT) == bonus


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_bonus_is_monotonic_in_the_tier_percent_and_never_exceeds_it(a, b):
    low, high = sorted((a, b))
    assert bonus_for(low, DEFAULT) * 100 <= low * 15
    assert bonus_for(low, DEFAULT) <= bonus_for(high, DEFAULT)


def refund_plan():
    """A top-up A with bonus B, and partial refunds (sizes ≥ 1) that add up to exactly A."""

    @st.composite
    def build(draw):
        amount = draw(st.integers(1, 1_000_000))
        bonus = draw(st.integers(0, amount))
        cuts = sorted(draw(st.sets(st.integers(1, amount - 1), max_size=min(amount - 1, 12))) if amount > 1 else [])
        bounds = [0, *cuts, amount]
        return amount, bonus, [b - a for a, b in itertools.pairwise(bounds)]

    return build()


def reverse_all(amount: int, bonus: int, refunds: list[int]) -> list[int]:
    """Apply refunds one by one as use_cases.record_refund does; answer the reversal of each."""
    refunded = reversed_total = 0
    out = []
    for r in refunds:
        r = min(r, amount - refunded)
        rev = bonus_to_reverse(
            topup_cents=amount,
            bonus_cents=bonus,
            refunded_before=refunded,
            refund_cents=r,
            reversed_before=reversed_total,
        )
        refunded, reversed_total = refunded + r, reversed_total + rev
        out.append(rev)
    return out


@settings(max_examples=300)
@given(refund_plan())
def test_partial_refunds_adding_up_to_the_top_up_reverse_exactly_the_whole_bonus(plan):
    amount, bonus, refunds = plan
    reversals = reverse_all(amount, bonus, refunds)
    assert sum(reversals) == bonus
    assert all(r >= 0 for r in reversals)


@settings(max_examples=300)
@given(refund_plan(), st.data())
def test_after_any_prefix_of_refunds_totalling_r_exactly_floor_b_r_over_a_is_reversed(plan, data):
    amount, bonus, refunds = plan
    k = data.draw(st.integers(0, len(refunds)))
    done = refunds[:k]
    assert sum(reverse_all(amount, bonus, done)) == bonus * sum(done) // amount


@given(st.integers(1, 100_000), st.integers(0, 100_000), st.lists(st.integers(1, 200_000), max_size=8))
def test_refunds_beyond_the_top_up_never_reverse_more_than_the_bonus(amount, bonus, refunds):
    bonus = min(bonus, amount)
    assert sum(reverse_all(amount, bonus, refunds)) == bonus * min(sum(refunds), amount) // amount


def test_a_zero_top_up_reverses_nothing():
    assert bonus_to_reverse(topup_cents=0, bonus_cents=10, refunded_before=0, refund_cents=5, reversed_before=0) == 0
