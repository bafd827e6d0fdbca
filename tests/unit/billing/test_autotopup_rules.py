"""The pure auto top-up rules (services.billing.domain.autotopup)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.billing.domain import autotopup as r

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
RULE = r.Rule(enabled=True, threshold_cents=1000, amount_cents=5000, monthly_limit_cents=20000)
RETRY = (300.0, 1800.0)


def decide(rule=RULE, *, balance=500, now=NOW, spent=0, cooldown=60.0):
    return r.decide(
        rule,
        balance_cents=balance,
        now=now,
        month="2026-11",
        spent_this_month_cents=spent,
        cooldown_s=cooldown,
        new_trigger_id=lambda: "atp_1",
    )


def test_below_threshold_requests_one_charge_with_a_trigger_id():
    assert decide() == r.Decision(True, "charge", trigger_id="atp_1")


def test_reasons_not_to_charge_in_order():
    assert decide(balance=1000).reason == "above_threshold"
    assert decide(replace(RULE, enabled=False)).reason == "disabled"
    assert decide(replace(RULE, state="in_flight")).reason == "in_flight"
    assert decide(replace(RULE, state="paused")).reason == "paused"
    assert decide(replace(RULE, next_retry_at=NOW + timedelta(seconds=1))).reason == "retry_backoff"
    assert decide(replace(RULE, last_triggered_at=NOW - timedelta(seconds=59))).reason == "cooldown"
    assert decide(replace(RULE, last_triggered_at=NOW - timedelta(seconds=60))).charge


def test_monthly_limit_tells_the_customer_once_per_month():
    first = decide(spent=16000)
    assert (first.charge, first.reason, first.notify_monthly_limit) == (False, "monthly_limit", True)
    told = r.monthly_limit_notified(RULE, month="2026-11")
    assert decide(told, spent=16000).notify_monthly_limit is False
    assert decide(told, spent=15000).charge  # exactly up to the limit is fine


def test_one_charge_not_enough_no_loop_next_charge_only_after_resolution_and_cooldown():
    rule = r.charge_requested(RULE, trigger_id="atp_1", now=NOW)
    assert decide(rule, balance=-100_000).reason == "in_flight"  # however far below: one in flight
    rule = r.charge_succeeded(rule, trigger_id="atp_1")
    assert rule.state == "idle"
    assert decide(rule, balance=-95_000, now=NOW + timedelta(seconds=10)).reason == "cooldown"
    later = decide(rule, balance=-95_000, now=NOW + timedelta(seconds=61), spent=5000)
    assert later.charge and later.trigger_id  # one more charge of the configured amount, not the gap


def test_failures_back_off_then_the_third_disables_with_a_reason():
    rule = RULE
    for n, expected_retry in ((1, 300), (2, 1800)):
        rule = r.charge_requested(rule, trigger_id=f"t{n}", now=NOW)
        rule, notices = r.charge_failed(
            rule, trigger_id=f"t{n}", reason_code="card_declined", action_url=None, now=NOW, retry_s=RETRY
        )
        assert (rule.state, rule.consecutive_failures) == ("idle", n)
        assert rule.next_retry_at == NOW + timedelta(seconds=expected_retry)
        assert [x.type for x in notices] == ["autotopup.failed"]
    rule = r.charge_requested(rule, trigger_id="t3", now=NOW)
    rule, notices = r.charge_failed(
        rule, trigger_id="t3", reason_code="card_declined", action_url=None, now=NOW, retry_s=RETRY
    )
    assert (rule.enabled, rule.state, rule.consecutive_failures) == (False, "disabled", 3)
    assert "card_declined" in rule.disabled_reason
    assert [x.type for x in notices] == ["autotopup.failed", "autotopup.disabled"]


def test_authentication_required_pauses_without_counting_and_resumes():
    rule = r.charge_requested(replace(RULE, consecutive_failures=1), trigger_id="t", now=NOW)
    paused, notices = r.charge_failed(
        rule, trigger_id="t", reason_code="authentication_required", action_url="https://pay/x", now=NOW, retry_s=RETRY
    )
    assert (paused.state, paused.action_url, paused.consecutive_failures) == ("paused", "https://pay/x", 1)
    assert [(n.type, n.data["action_url"]) for n in notices] == [("autotopup.paused", "https://pay/x")]
    assert r.charge_succeeded(paused, trigger_id="t").state == "idle"
    assert r.card_saved(paused).state == "idle"


def test_outcomes_of_other_triggers_change_nothing():
    rule = r.charge_requested(RULE, trigger_id="current", now=NOW)
    assert r.charge_succeeded(rule, trigger_id="old") == rule
    assert r.charge_failed(rule, trigger_id="old", reason_code="x", action_url=None, now=NOW, retry_s=RETRY) == (
        rule,
        [],
    )


def test_validation_refuses_rules_that_could_never_charge():
    ok = {
        "threshold_cents": 1000,
        "amount_cents": 5000,
        "monthly_limit_cents": 5000,
        "enabled": True,
        "min_cents": 1000,
        "max_cents": 1_000_000,
    }
    assert r.validation_error(**ok) is None
    assert r.validation_error(**{**ok, "amount_cents": 999})
    assert r.validation_error(**{**ok, "amount_cents": 1_000_001})
    assert r.validation_error(**{**ok, "monthly_limit_cents": 4999})
    assert r.validation_error(**{**ok, "monthly_limit_cents": 0, "enabled": False}) is None


def test_reenabling_resets_failures_and_switching_off_shows_disabled():
    disabled = replace(RULE, enabled=False, state="disabled", consecutive_failures=3, disabled_reason="x")
    again = r.reconfigure(disabled, enabled=True, threshold_cents=1000, amount_cents=5000, monthly_limit_cents=20000)
    assert (again.state, again.consecutive_failures, again.disabled_reason) == ("idle", 0, None)
    off = r.reconfigure(RULE, enabled=False, threshold_cents=1000, amount_cents=5000, monthly_limit_cents=20000)
    assert r.view_state(off) == "disabled"
    in_flight = r.charge_requested(RULE, trigger_id="t", now=NOW)
    assert (
        r.view_state(
            r.reconfigure(in_flight, enabled=False, threshold_cents=1, amount_cents=5000, monthly_limit_cents=20000)
        )
        == "in_flight"
    )
    told = r.monthly_limit_notified(RULE, month="2026-11")
    raised = r.reconfigure(told, enabled=True, threshold_cents=1000, amount_cents=5000, monthly_limit_cents=40000)
    assert raised.monthly_limit_notified_month is None
