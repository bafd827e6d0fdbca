import pytest

from services.payments.domain import topups as rules
from services.payments.domain.bonus import InvalidTiers, bonus_for, parse_tiers

LIMITS = rules.Limits(1000, 1_000_000)
TIERS = parse_tiers("10000:5,25000:10,50000:15")


@pytest.mark.parametrize("amount", [1000, 1_000_000, 5000])
def test_amount_within_limits_is_accepted(amount):
    rules.check_amount(amount, LIMITS)


@pytest.mark.parametrize("amount", [999, 1_000_001, 0, -1])
def test_amount_outside_limits_is_refused_as_validation_error(amount):
    with pytest.raises(rules.AmountOutOfRange) as refused:
        rules.check_amount(amount, LIMITS)
    assert refused.value.code == "validation_error"


def test_same_key_with_another_amount_is_a_conflict():
    rules.check_same_request(stored_amount_cents=5000, amount_cents=5000)
    with pytest.raises(rules.IdempotencyConflict) as refused:
        rules.check_same_request(stored_amount_cents=5000, amount_cents=5001)
    assert refused.value.code == "idempotency_conflict"


@pytest.mark.parametrize(
    ("amount", "bonus"), [(9999, 0), (10000, 500), (24999, 1249), (25000, 2500), (50000, 7500), (33333, 3333)]
)
def test_highest_reached_tier_applies_to_the_whole_amount_rounded_down(amount, bonus):
    assert bonus_for(amount, TIERS) == bonus


def test_bad_tier_spec_is_refused():
    with pytest.raises(InvalidTiers):
        parse_tiers("10000:5,oops")


@pytest.mark.parametrize(
    ("status", "succeeds", "fails", "expires"),
    [
        ("pending", True, True, True),
        ("failed", True, False, True),
        ("expired", True, False, False),
        ("succeeded", False, False, False),
        ("refunded", False, False, False),
    ],
)
def test_state_machine_lets_paid_money_win_and_never_settles_twice(status, succeeds, fails, expires):
    assert (rules.can_succeed(status), rules.can_fail(status), rules.can_expire(status)) == (succeeds, fails, expires)


def test_topup_is_refunded_only_when_refunds_reach_its_amount():
    assert rules.status_after_refunds(status="succeeded", amount_cents=10000, refunded_cents=9999) == "succeeded"
    assert rules.status_after_refunds(status="succeeded", amount_cents=10000, refunded_cents=10000) == "refunded"
