"""Billing: the ledger's facts, the reservation protocol (API.md) and the gateway's queries."""

import re
from datetime import datetime
from typing import ClassVar, Literal, get_args

from pydantic import Field, model_validator

from contracts.base import Event, Reply, Request, View
from contracts.subjects import BILLING
from contracts.usage.v1 import UsageRecorded

EntryKind = Literal["topup", "bonus", "usage", "refund", "adjustment", "grant", "expiry"]
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)  # the one list of transaction kinds (API.md)


class Address(View):
    line1: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)


EInvoiceProfile = Literal["en16931", "xrechnung"]
_LEITWEG_ID = re.compile(r"^(\d{2,12})(-[A-Za-z0-9]{1,30})?-(\d{2})$")


def leitweg_id_error(value: str) -> str | None:
    """Why `value` is not a Leitweg-ID (the German public buyer's routing id, BT-10), or None.

    Grobadressierung (2–12 digits), optional Feinadressierung (1–30 letters or digits), and two
    check digits over both by ISO/IEC 7064 MOD 97-10 (letters count as 10–35), e.g. 04011000-1234512345-06."""
    match = _LEITWEG_ID.match(value)
    if not match:
        return "a Leitweg-ID looks like 04011000-1234512345-06 (digits-letters or digits-check digits)"
    body = (match[1] + (match[2] or "")).replace("-", "").upper()
    expected = 98 - int("".join(str(int(c, 36)) for c in body) + "00") % 97
    if expected != int(match[3]):
        return f"the check digits of this Leitweg-ID should be {expected:02d}"
    return None


class AccountProfile(View):
    """A tenant's billing profile: printed on documents, used by notifications. `einvoice_profile`
    chooses the e-invoice flavour: EN 16931 (Factur-X/ZUGFeRD) or XRechnung 3.0 for German public
    buyers, which needs their Leitweg-ID as `buyer_reference`."""

    tenant_id: str
    name: str
    email: str
    country: str = "DE"
    vat_id: str | None = None
    phone: str | None = None
    address: Address = Field(default_factory=Address)
    locale: Literal["de", "en"] = "de"
    low_balance_threshold_cents: int = 1000
    einvoice_profile: EInvoiceProfile = "en16931"
    buyer_reference: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _xrechnung_needs_a_leitweg_id(self) -> "AccountProfile":
        if self.einvoice_profile == "xrechnung":
            if not self.buyer_reference:
                raise ValueError("einvoice_profile xrechnung needs buyer_reference, the buyer's Leitweg-ID")
            error = leitweg_id_error(self.buyer_reference)
            if error:
                raise ValueError(error)
        return self


# ---- events -------------------------------------------------------------------------------


class AccountUpdated(Event):
    subject: ClassVar[str] = "billing.account.updated.v1"
    stream: ClassVar[str | None] = BILLING.name
    durables: ClassVar = ("payments-account-updated", "documents-account-updated", "notify-account-updated")
    profile: AccountProfile


class TopupCredited(Event):
    """A paid top-up reached the balance (gross plus bonus): documents invoices it."""

    subject: ClassVar[str] = "billing.topup.credited.v1"
    stream: ClassVar[str | None] = BILLING.name
    durables: ClassVar = ("documents-topup-credited",)
    topup_id: str
    amount_cents: int
    bonus_cents: int
    currency: str = "EUR"
    payment_reference: str
    paid_at: datetime
    transaction_id: str
    card_last4: str | None = None  # the card it was paid with (from TopupPaid), for the invoice


class RefundRecorded(Event):
    """A refund was debited (and its share of bonus reversed): documents issues a credit note."""

    subject: ClassVar[str] = "billing.refund.recorded.v1"
    stream: ClassVar[str | None] = BILLING.name
    durables: ClassVar = ("documents-refund-recorded",)
    refund_id: str
    topup_id: str
    amount_cents: int
    bonus_reversed_cents: int
    currency: str = "EUR"
    refunded_at: datetime
    transaction_id: str


class AutoTopupRequested(Event):
    """Billing asks payments for one off-session charge; `trigger_id` is the idempotency key."""

    subject: ClassVar[str] = "billing.autotopup.requested.v1"
    stream: ClassVar[str | None] = BILLING.name
    durables: ClassVar = ("payments-autotopup-requested",)
    trigger_id: str
    amount_cents: int
    currency: str = "EUR"
    payment_method_id: str | None = None


class AutoTopupCheckRequested(Event):
    """A charge has been in flight longer than AUTOTOPUP_INFLIGHT_TIMEOUT_S: billing asks payments to
    find out what really happened (at Stripe) and to answer with TopupPaid / TopupFailed again."""

    subject: ClassVar[str] = "billing.autotopup.check_requested.v1"
    stream: ClassVar[str | None] = BILLING.name
    durables: ClassVar = ("payments-autotopup-check",)
    trigger_id: str
    amount_cents: int
    requested_at: datetime


# ---- reservations (fixed by API.md) ------------------------------------------------------

# The platform asks on NATS; the gateway asks for platforms that speak HTTP (`/ingest/v1/reservations`).
PLATFORM_CALLERS = ("platform", "gateway")


class ReserveReply(Reply):
    ok: bool
    reservation_id: str | None = None
    available_cents: int
    error: dict | None = None


class Reserve(Request):
    subject: ClassVar[str] = "billing.reserve.v1"
    callers: ClassVar = PLATFORM_CALLERS
    reply_model: ClassVar = ReserveReply
    id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(ge=0, le=10**11)
    ttl_s: int = Field(default=300, ge=1, le=24 * 3600)


class SettleReply(Reply):
    ok: bool
    transaction_id: str | None = None
    balance_cents: int | None = None
    available_cents: int | None = None
    error: dict | None = None


class Settle(Request):
    subject: ClassVar[str] = "billing.settle.v1"
    callers: ClassVar = PLATFORM_CALLERS
    reply_model: ClassVar = SettleReply
    reservation_id: str
    usage: UsageRecorded


class ReleaseReply(Reply):
    ok: bool
    available_cents: int | None = None
    error: dict | None = None


class Release(Request):
    subject: ClassVar[str] = "billing.release.v1"
    callers: ClassVar = PLATFORM_CALLERS
    reply_model: ClassVar = ReleaseReply
    reservation_id: str


# ---- gateway queries and commands (rpc.billing.*) ----------------------------------------


class NextExpiry(View):
    """The promotional credit that expires next: what the open grants expiring at `expires_at` have left."""

    amount_cents: int
    expires_at: datetime


class BalanceReply(Reply):
    """`balance_cents` = `paid_cents` + `promotional_cents` (what open grants have left)."""

    balance_cents: int
    available_cents: int
    currency: str = "EUR"
    low_balance_threshold_cents: int
    updated_at: datetime | None = None
    paid_cents: int = 0
    promotional_cents: int = 0
    next_expiry: NextExpiry | None = None


class GetBalance(Request):
    subject: ClassVar[str] = "rpc.billing.balance.v1"
    reply_model: ClassVar = BalanceReply
    tenant_id: str
    as_of: datetime | None = None


class TransactionView(View):
    id: str
    kind: EntryKind
    amount_cents: int
    balance_after_cents: int
    description: str
    reference: str | None
    created_at: datetime


class TransactionPage(Reply):
    items: list[TransactionView]
    next_cursor: str | None = None


class ListTransactions(Request):
    subject: ClassVar[str] = "rpc.billing.transactions.v1"
    reply_model: ClassVar = TransactionPage
    tenant_id: str
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None
    kind: EntryKind | None = None
    since: datetime | None = None
    until: datetime | None = None


class UsageDay(View):
    date: str
    amount_cents: int
    quantity: float


class DashboardReply(Reply):
    balance_cents: int
    available_cents: int
    usage_by_day: list[UsageDay]
    topups_30d_cents: int
    usage_30d_cents: int
    projected_days_left: int | None
    paid_cents: int = 0
    promotional_cents: int = 0
    next_expiry: NextExpiry | None = None


class GetDashboard(Request):
    subject: ClassVar[str] = "rpc.billing.dashboard.v1"
    reply_model: ClassVar = DashboardReply
    tenant_id: str
    days: int = Field(default=30, ge=1, le=366)


class AccountReply(Reply):
    profile: AccountProfile


class CreateAccount(Request):
    """Idempotent by tenant id: creating an existing account answers the existing profile."""

    subject: ClassVar[str] = "rpc.billing.account.create.v1"
    reply_model: ClassVar = AccountReply
    profile: AccountProfile


class GetAccount(Request):
    subject: ClassVar[str] = "rpc.billing.account.get.v1"
    callers: ClassVar = ("gateway", "documents")
    reply_model: ClassVar = AccountReply
    tenant_id: str


class UpdateAccount(Request):
    subject: ClassVar[str] = "rpc.billing.account.update.v1"
    reply_model: ClassVar = AccountReply
    tenant_id: str
    changes: dict


class StatementEntry(View):
    transaction_id: str
    kind: EntryKind
    amount_cents: int
    balance_after_cents: int
    description: str
    reference: str | None
    created_at: datetime


class StatementReply(Reply):
    tenant_id: str
    month: str
    opening_balance_cents: int
    closing_balance_cents: int
    entries: list[StatementEntry]


class GetStatement(Request):
    subject: ClassVar[str] = "rpc.billing.statement.v1"
    callers: ClassVar = ("gateway", "documents")
    reply_model: ClassVar = StatementReply
    tenant_id: str
    month: str = Field(pattern=r"^\d{4}-\d{2}$")


# ---- auto top-up settings (rpc.billing.autotopup.*) ---------------------------------------

AutoTopupState = Literal["idle", "in_flight", "paused", "disabled"]


class AutoTopupView(Reply):
    enabled: bool
    threshold_cents: int
    amount_cents: int
    monthly_limit_cents: int
    state: AutoTopupState
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    last_triggered_at: datetime | None = None
    action_url: str | None = None


class GetAutoTopup(Request):
    subject: ClassVar[str] = "rpc.billing.autotopup.get.v1"
    reply_model: ClassVar = AutoTopupView
    tenant_id: str


class UpdateAutoTopup(Request):
    """Refused with `conflict` when enabling without a default card, `validation_error` for bad amounts."""

    subject: ClassVar[str] = "rpc.billing.autotopup.update.v1"
    reply_model: ClassVar = AutoTopupView
    tenant_id: str
    enabled: bool
    threshold_cents: int
    amount_cents: int
    monthly_limit_cents: int


# ---- reconciliation (rpc.billing.reconcile.v1, asked by payments' reconciler) ------------------


class LedgerCredit(View):
    """A top-up as the ledger credited it."""

    topup_id: str
    tenant_id: str
    amount_cents: int
    bonus_cents: int
    transaction_id: str


class LedgerRefund(View):
    """A refund as the ledger recorded it (amount debited, bonus reversed; no transaction when the
    top-up had nothing left to refund)."""

    refund_id: str
    amount_cents: int
    bonus_reversed_cents: int
    transaction_id: str | None = None


class LedgerReconciliation(Reply):
    credits: list[LedgerCredit] = []
    refunds: list[LedgerRefund] = []


class ReconcileLedger(Request):
    """Which of these top-ups are credited, which of these refunds recorded (and how)."""

    subject: ClassVar[str] = "rpc.billing.reconcile.v1"
    reply_model: ClassVar = LedgerReconciliation
    callers: ClassVar = ("payments",)
    topup_ids: list[str] = Field(default_factory=list, max_length=1000)
    refund_ids: list[str] = Field(default_factory=list, max_length=1000)


# ---- operator adjustments (rpc.billing.adjustment.create.v1, the admin API) -------------------

ADJUSTMENT_REASON_MAX = 500
ADJUSTMENT_MAX_CENTS = 10**11  # either way: a bound against typos of many digits, not a business limit


class AdjustmentView(View):
    """A signed correction of a tenant's balance by the operator; `reason` is shown to the customer
    (the transaction's description)."""

    id: str
    transaction_id: str
    amount_cents: int
    reason: str
    created_at: datetime


class AdjustmentReply(Reply):
    adjustment: AdjustmentView
    created: bool  # False: the same idempotency key and body again, answered with the first result


class CreateAdjustment(Request):
    """Recorded once per (tenant, idempotency key). Refused with `validation_error` (amount 0, an empty or
    too long reason), `idempotency_conflict` (the key was used with another body), `not_found` (no such
    account) and `conflict` (a debit that would take the balance below zero)."""

    subject: ClassVar[str] = "rpc.billing.adjustment.create.v1"
    reply_model: ClassVar = AdjustmentReply
    tenant_id: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(ge=-ADJUSTMENT_MAX_CENTS, le=ADJUSTMENT_MAX_CENTS)
    reason: str
    idempotency_key: str = Field(min_length=1, max_length=255)


# ---- the operator's tenant overview (rpc.billing.tenants.*, the admin API) ---------------------

TENANT_PAGE_MAX = 200


class TenantSummary(View):
    """One tenant as the operator's list shows it; `projected_days_left` is the dashboard's number."""

    id: str
    name: str
    email: str
    balance_cents: int
    available_cents: int
    projected_days_left: int | None
    autotopup_state: AutoTopupState


class TenantPage(Reply):
    items: list[TenantSummary]
    next_cursor: str | None = None


class ListTenants(Request):
    """Newest first; `query` matches part of the name or email (any case) or the start of the id."""

    subject: ClassVar[str] = "rpc.billing.tenants.list.v1"
    reply_model: ClassVar = TenantPage
    query: str = Field(default="", max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=TENANT_PAGE_MAX)


class OperatorAutoTopupView(AutoTopupView):
    """The customer's view of the rule plus what the operator needs to help: the last failed charge's code."""

    last_failure_reason: str | None = None


class TenantOverview(Reply):
    """`paid_cents` + `promotional_cents` = `balance_cents` (API.md, GET /v1/balance)."""

    tenant: TenantSummary
    paid_cents: int
    promotional_cents: int
    autotopup: OperatorAutoTopupView


class GetTenantOverview(Request):
    """Refused with `not_found` for an id billing holds no profile of."""

    subject: ClassVar[str] = "rpc.billing.tenants.get.v1"
    reply_model: ClassVar = TenantOverview
    tenant_id: str = Field(min_length=1, max_length=64)


# ---- promotional credit grants (rpc.billing.grant.*.v1, the admin API and GET /v1/grants) ------

GRANT_REASON_MAX = ADJUSTMENT_REASON_MAX
GRANT_MAX_CENTS = ADJUSTMENT_MAX_CENTS
GRANT_DEFAULT_PRIORITY = 100


class GrantView(View):
    """Promotional credit: usage draws from open grants before paid balance (API.md gives the order)."""

    id: str
    amount_cents: int
    remaining_cents: int
    expires_at: datetime | None
    priority: int
    reason: str
    created_at: datetime


class GrantReply(Reply):
    grant: GrantView
    created: bool  # False: the same idempotency key and body again (or a void that changed nothing)


class GrantList(Reply):
    items: list[GrantView]


class CreateGrant(Request):
    """Recorded once per (tenant, idempotency key), with a `grant` posting whose description is the reason.
    Refused with `validation_error` (an empty or too long reason, `expires_at` not in the future),
    `idempotency_conflict` (the key was used with another body) and `not_found` (no such account)."""

    subject: ClassVar[str] = "rpc.billing.grant.create.v1"
    reply_model: ClassVar = GrantReply
    tenant_id: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(gt=0, le=GRANT_MAX_CENTS)
    reason: str
    expires_at: datetime | None = None
    priority: int = Field(default=GRANT_DEFAULT_PRIORITY, ge=0, le=2**31 - 1)
    idempotency_key: str = Field(min_length=1, max_length=255)


class ListGrants(Request):
    subject: ClassVar[str] = "rpc.billing.grant.list.v1"
    reply_model: ClassVar = GrantList
    tenant_id: str = Field(min_length=1, max_length=64)


class VoidGrant(Request):
    """What the grant has left leaves as an `expiry` posting; voiding again changes nothing (the operator's)."""

    subject: ClassVar[str] = "rpc.billing.grant.void.v1"
    reply_model: ClassVar = GrantReply
    grant_id: str = Field(min_length=1, max_length=40)
