"""The ledger's rules: postings, double entries, balances and the alerts a posting causes.

A customer's balance is what the platform owes them: credits raise it, debits lower it. Every
posting is two entries that sum to zero — the tenant's account and a platform account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from services.billing.domain.alerts import Alert, crossings

Kind = Literal["topup", "bonus", "usage", "refund", "adjustment", "grant", "expiry"]

CONTRA_ACCOUNT: dict[str, str] = {
    "topup": "platform:payments",
    "refund": "platform:payments",
    "bonus": "platform:bonus",
    "usage": "platform:revenue",
    "adjustment": "platform:adjustments",
    "grant": "platform:promotions",  # promotional credit: not paid for, so not `platform:payments`
    "expiry": "platform:promotions",  # what a grant had left goes back where it came from
}

CREDIT_KINDS = {"topup", "bonus", "grant"}
DEBIT_KINDS = {"usage", "refund", "expiry"}


class LedgerRuleViolation(ValueError):
    pass


def tenant_account(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


@dataclass(frozen=True)
class Posting:
    """One ledger transaction, as it affects the tenant: `amount_cents` > 0 credits, < 0 debits."""

    kind: Kind
    amount_cents: int
    source_key: str
    description: str = ""
    reference: str | None = None

    def __post_init__(self) -> None:
        check_sign_matches_kind(self.kind, self.amount_cents)


def check_sign_matches_kind(kind: str, amount_cents: int) -> None:
    if kind == "topup" and amount_cents <= 0:
        raise LedgerRuleViolation("a top-up credits a positive amount")
    if kind == "usage" and amount_cents > 0:
        raise LedgerRuleViolation("usage never credits")
    if kind == "refund" and amount_cents >= 0:
        raise LedgerRuleViolation("a refund debits a positive amount")
    if kind == "grant" and amount_cents <= 0:
        raise LedgerRuleViolation("a grant credits a positive amount")
    if kind == "expiry" and amount_cents >= 0:
        raise LedgerRuleViolation("an expiry debits what a grant had left")


@dataclass(frozen=True)
class AccountState:
    tenant_id: str
    balance_cents: int
    held_cents: int = 0
    threshold_cents: int = 1000

    @property
    def available_cents(self) -> int:
        return self.balance_cents - self.held_cents


@dataclass(frozen=True)
class Applied:
    posting: Posting
    balance_before: int
    balance_after: int
    alerts: list[Alert] = field(default_factory=list)


def apply(state: AccountState, posting: Posting) -> tuple[AccountState, Applied]:
    """Usage is never rejected: the balance may go below zero, and the alerts say so."""
    applied = post(state.balance_cents, state.threshold_cents, posting)
    return AccountState(state.tenant_id, applied.balance_after, state.held_cents, state.threshold_cents), applied


def post(balance_cents: int, threshold_cents: int, posting: Posting) -> Applied:
    """`apply` on a balance alone: a batch of postings keeps each tenant's running balance and makes
    one AccountState per tenant at its end, not one per posting."""
    after = balance_cents + posting.amount_cents
    return Applied(
        posting, balance_cents, after, crossings(before=balance_cents, after=after, threshold=threshold_cents)
    )


def double_entries(tenant_id: str, posting: Posting) -> list[tuple[str, int]]:
    return [
        (tenant_account(tenant_id), posting.amount_cents),
        (CONTRA_ACCOUNT[posting.kind], -posting.amount_cents),
    ]
