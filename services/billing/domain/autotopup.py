"""Auto top-up rules (pure): when to request an off-session charge, and what an outcome does.

A decision is made per tenant at a *decision point*: a batch of postings for that tenant (inside
the debit's transaction, with the account row locked), a monitor sweep, or saving the settings.
`decide` checks, in this order:

1. the rule is switched off or disabled                      → nothing ("disabled")
2. the balance is at or above the threshold                  → nothing ("above_threshold")
3. a charge is in flight / waits for the customer (SCA)      → nothing ("in_flight" / "paused")
4. a failed charge's retry (AUTOTOPUP_RETRY_S) is not due    → nothing ("retry_backoff")
5. less than AUTOTOPUP_COOLDOWN_S since the last request     → nothing ("cooldown")
6. this month's automatic charges + amount > monthly limit   → nothing ("monthly_limit"); the
   customer is told once per month (`notify_monthly_limit`), no failure is counted
7. otherwise                                                 → ONE charge of the configured
   amount with a fresh trigger id; the rule goes `in_flight`.

**One charge is not enough** (a big debit, or an amount smaller than the gap): nothing happens
when that charge resolves. The next single charge is requested only at a later decision point
(the next debit, or the monitor) once the previous charge has resolved AND the cooldown has
elapsed. So there is never a loop of charges until the gap is closed, never more than one
charge in flight, never more than one per cooldown, never beyond the monthly limit (reaching it
tells the customer), and the amount is always the customer's — never raised to cover the gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from contracts.base import new_id

State = Literal["idle", "in_flight", "paused", "disabled"]
MAX_CONSECUTIVE_FAILURES = 3
AUTHENTICATION_REQUIRED = "authentication_required"


@dataclass(frozen=True)
class Rule:
    enabled: bool
    threshold_cents: int
    amount_cents: int
    monthly_limit_cents: int
    state: State = "idle"
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    action_url: str | None = None
    current_trigger_id: str | None = None
    last_triggered_at: datetime | None = None
    next_retry_at: datetime | None = None
    monthly_limit_notified_month: str | None = None


@dataclass(frozen=True)
class Decision:
    charge: bool
    reason: str
    trigger_id: str | None = None
    notify_monthly_limit: bool = False


NoticeType = Literal[
    "autotopup.triggered", "autotopup.succeeded", "autotopup.failed", "autotopup.paused", "autotopup.disabled"
]


@dataclass(frozen=True)
class Notice:
    """A customer-visible consequence: the event `type` with its `data` (contracts.portal.data)."""

    type: NoticeType
    data: dict = field(default_factory=dict)


def parse_retry(schedule: str) -> tuple[float, ...]:
    return tuple(float(s) for s in schedule.split(",") if s.strip()) or (300.0,)


def decide(
    rule: Rule,
    *,
    balance_cents: int,
    now: datetime,
    month: str,
    spent_this_month_cents: int,
    cooldown_s: float,
    new_trigger_id: Callable[[], str] = lambda: new_id("atp_"),
) -> Decision:
    if not rule.enabled or rule.state == "disabled":
        return Decision(False, "disabled")
    if balance_cents >= rule.threshold_cents:
        return Decision(False, "above_threshold")
    if rule.state in ("in_flight", "paused"):
        return Decision(False, rule.state)
    if rule.next_retry_at is not None and now < rule.next_retry_at:
        return Decision(False, "retry_backoff")
    if rule.last_triggered_at is not None and now < rule.last_triggered_at + timedelta(seconds=cooldown_s):
        return Decision(False, "cooldown")
    if spent_this_month_cents + rule.amount_cents > rule.monthly_limit_cents:
        return Decision(False, "monthly_limit", notify_monthly_limit=rule.monthly_limit_notified_month != month)
    return Decision(True, "charge", trigger_id=new_trigger_id())


def charge_requested(rule: Rule, *, trigger_id: str, now: datetime) -> Rule:
    return replace(
        rule,
        state="in_flight",
        current_trigger_id=trigger_id,
        last_triggered_at=now,
        next_retry_at=None,
        action_url=None,
    )


def monthly_limit_notified(rule: Rule, *, month: str) -> Rule:
    return replace(rule, monthly_limit_notified_month=month)


def _settled(rule: Rule) -> State:
    return "idle" if rule.enabled else "disabled"


def charge_succeeded(rule: Rule, *, trigger_id: str) -> Rule:
    """The current (in-flight or paused) charge was paid: the rule is healthy again."""
    if trigger_id != rule.current_trigger_id:
        return rule
    return replace(
        rule, state=_settled(rule), consecutive_failures=0, current_trigger_id=None, action_url=None, next_retry_at=None
    )


def charge_failed(
    rule: Rule, *, trigger_id: str, reason_code: str, action_url: str | None, now: datetime, retry_s: tuple[float, ...]
) -> tuple[Rule, list[Notice]]:
    """SCA pauses (not a failure); any other failure is counted, retried with backoff, and the
    3rd consecutive one disables the rule and says why."""
    if trigger_id != rule.current_trigger_id or rule.state != "in_flight":
        return rule, []
    if reason_code == AUTHENTICATION_REQUIRED:
        paused = replace(rule, state="paused" if rule.enabled else "disabled", action_url=action_url)
        return paused, [Notice("autotopup.paused", {"trigger_id": trigger_id, "action_url": action_url})]
    failures = rule.consecutive_failures + 1
    failed = Notice(
        "autotopup.failed", {"trigger_id": trigger_id, "reason": reason_code, "consecutive_failures": failures}
    )
    if failures >= MAX_CONSECUTIVE_FAILURES:
        reason = f"{failures} consecutive failed charges (last: {reason_code})"
        disabled = replace(
            rule,
            enabled=False,
            state="disabled",
            consecutive_failures=failures,
            disabled_reason=reason,
            current_trigger_id=None,
            next_retry_at=None,
        )
        return disabled, [failed, Notice("autotopup.disabled", {"reason": reason, "reason_code": reason_code})]
    retry_at = now + timedelta(seconds=retry_s[min(failures, len(retry_s)) - 1])
    return replace(
        rule, state=_settled(rule), consecutive_failures=failures, current_trigger_id=None, next_retry_at=retry_at
    ), [failed]


def link_expired(rule: Rule, *, trigger_id: str) -> Rule:
    """The customer did not authenticate the paused charge before its link expired (24 h at Stripe).

    Decision: the paused charge is given up — not counted as a failure — and the rule goes back to its
    normal path: the next decision point (a debit, or the monitor) tries one new off-session charge
    once the cooldown allows. Banks often let a later off-session charge through without
    authentication; if this one wants it again, the rule pauses again with a fresh link and a new
    notice. A rule is therefore never `paused` on a dead link, and the customer is asked at most once
    per link lifetime."""
    if rule.state != "paused" or trigger_id != rule.current_trigger_id:
        return rule
    return replace(rule, state=_settled(rule), current_trigger_id=None, action_url=None)


def card_saved(rule: Rule) -> Rule:
    """A new default card resumes a paused rule (the paused charge is given up, not counted)."""
    if rule.state != "paused":
        return rule
    return replace(rule, state=_settled(rule), current_trigger_id=None, action_url=None)


def view_state(rule: Rule) -> State:
    """`disabled` also when the customer switched the rule off (a charge in flight still shows)."""
    if not rule.enabled and rule.state != "in_flight":
        return "disabled"
    return rule.state


def validation_error(
    *, threshold_cents: int, amount_cents: int, monthly_limit_cents: int, enabled: bool, min_cents: int, max_cents: int
) -> str | None:
    """Settings that could never charge are refused up front, never accepted and silently idle."""
    if not min_cents <= amount_cents <= max_cents:
        return f"amount_cents must be between {min_cents} and {max_cents}"
    if threshold_cents < 0 or monthly_limit_cents < 0:
        return "threshold_cents and monthly_limit_cents must not be negative"
    if enabled and monthly_limit_cents < amount_cents:
        return "monthly_limit_cents must be at least amount_cents, or no charge could ever be made"
    return None


def reconfigure(
    rule: Rule, *, enabled: bool, threshold_cents: int, amount_cents: int, monthly_limit_cents: int
) -> Rule:
    """Re-enabling resets the failures; a changed limit or amount may notify about the cap again."""
    new = replace(
        rule,
        enabled=enabled,
        threshold_cents=threshold_cents,
        amount_cents=amount_cents,
        monthly_limit_cents=monthly_limit_cents,
    )
    if (monthly_limit_cents, amount_cents) != (rule.monthly_limit_cents, rule.amount_cents):
        new = replace(new, monthly_limit_notified_month=None)
    busy = rule.state in ("in_flight", "paused")
    if enabled and (not rule.enabled or rule.state == "disabled"):
        return replace(
            new, state=rule.state if busy else "idle", consecutive_failures=0, disabled_reason=None, next_retry_at=None
        )
    if not enabled and rule.state != "in_flight":
        reason = rule.disabled_reason if not rule.enabled else None
        return replace(new, state="disabled", action_url=None, disabled_reason=reason)
    return new
