"""An operator adjustment's rules: a reason the customer can read, never 0, one request per key."""

import pytest

from services.billing.domain.adjustments import (
    InvalidAdjustment,
    NotTheSameRequest,
    check_amount,
    check_same_request,
    checked_reason,
)
from services.billing.domain.ledger import CONTRA_ACCOUNT, Posting, double_entries


def test_the_reason_is_required_trimmed_and_bounded():
    assert checked_reason("  Kulanz für den Ausfall  ") == "Kulanz für den Ausfall"
    assert checked_reason("x" * 500) == "x" * 500
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(InvalidAdjustment):
            checked_reason(bad)


def test_an_adjustment_of_zero_is_refused_either_sign_is_not():
    check_amount(1)
    check_amount(-1)
    with pytest.raises(InvalidAdjustment):
        check_amount(0)


def test_a_key_replays_its_first_request_only():
    check_same_request(stored_amount_cents=100, stored_reason="a", amount_cents=100, reason="a")
    for amount, reason in ((101, "a"), (100, "b")):
        with pytest.raises(NotTheSameRequest):
            check_same_request(stored_amount_cents=100, stored_reason="a", amount_cents=amount, reason=reason)


def test_an_adjustment_is_booked_against_the_platforms_adjustments_account():
    entries = double_entries("t1", Posting("adjustment", -700, "adjustment:adj_1", "Nachbelastung"))
    assert entries == [("tenant:t1", -700), (CONTRA_ACCOUNT["adjustment"], 700)]
    assert CONTRA_ACCOUNT["adjustment"] == "platform:adjustments"
