"""Payments: what happened at Stripe, in our terms, and the gateway's commands to payments."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import Event, Reply, Request, View
from contracts.subjects import PAYMENTS

TopupSource = Literal["checkout", "auto"]
TopupStatus = Literal["pending", "succeeded", "failed", "expired", "refunded"]


# ---- events -------------------------------------------------------------------------------


class TopupPaid(Event):
    """A top-up's money arrived (gross amount). Billing credits it with its bonus, once per `topup_id`.

    `bonus_cents` is the bonus payments decided when the top-up was made (TOPUP_BONUS_TIERS is payments'
    alone); billing credits exactly that. It is optional only for what a payments of before 2026-12 may
    have left on the stream: billing refuses such a message (dead letter) and the reconciler sends it
    again from the top-up, bonus included."""

    subject: ClassVar[str] = "payments.topup.paid.v1"
    stream: ClassVar[str | None] = PAYMENTS.name
    durables: ClassVar = ("billing-topup-paid",)  # credits it, and settles an auto top-up's rule with it
    topup_id: str
    amount_cents: int
    bonus_cents: int | None = None
    currency: str = "EUR"
    source: TopupSource = "checkout"
    trigger_id: str | None = None
    payment_intent_id: str
    charge_id: str | None = None
    paid_at: datetime
    card_last4: str | None = None  # the card it was paid with, for the invoice (BG-18)
    card_brand: str | None = None


class TopupFailed(Event):
    """A top-up or an auto top-up charge failed; `reason_code` is Stripe's code (e.g. card_declined)."""

    subject: ClassVar[str] = "payments.topup.failed.v1"
    stream: ClassVar[str | None] = PAYMENTS.name
    durables: ClassVar = ("billing-autotopup-failed",)
    topup_id: str
    amount_cents: int
    source: TopupSource = "checkout"
    trigger_id: str | None = None
    reason_code: str
    reason: str
    action_url: str | None = None  # set when reason_code == "authentication_required"


class TopupExpired(Event):
    """A top-up's payment page expired unpaid (for an auto top-up: the SCA link of a paused charge)."""

    subject: ClassVar[str] = "payments.topup.expired.v1"
    stream: ClassVar[str | None] = PAYMENTS.name
    durables: ClassVar = ("billing-autotopup-expired",)
    topup_id: str
    source: TopupSource = "checkout"
    trigger_id: str | None = None


class PaymentRefunded(Event):
    """One refund of a top-up's payment (partial or full). `refund_id` makes it idempotent."""

    subject: ClassVar[str] = "payments.payment.refunded.v1"
    stream: ClassVar[str | None] = PAYMENTS.name
    durables: ClassVar = ("billing-payment-refunded",)
    refund_id: str
    topup_id: str
    payment_intent_id: str
    amount_cents: int
    topup_amount_cents: int
    currency: str = "EUR"
    refunded_at: datetime


class PaymentMethodChanged(Event):
    """A card was attached, detached or became the default. Billing needs to know about defaults."""

    subject: ClassVar[str] = "payments.payment_method.changed.v1"
    stream: ClassVar[str | None] = PAYMENTS.name
    durables: ClassVar = ("billing-autotopup-cards",)
    change: Literal["attached", "detached", "default_changed"]
    payment_method_id: str
    default_payment_method_id: str | None = None


# ---- commands from the gateway (rpc.payments.*) -----------------------------------------


class TopupView(Reply):
    id: str
    status: TopupStatus
    amount_cents: int
    bonus_cents: int
    checkout_url: str | None = None
    invoice_id: str | None = None
    failure_reason: str | None = None


class CreateTopupReply(Reply):
    topup: TopupView | None = None
    created: bool = False
    error: dict | None = None


class CreateTopup(Request):
    subject: ClassVar[str] = "rpc.payments.topup.create.v1"
    reply_model: ClassVar = CreateTopupReply
    tenant_id: str
    amount_cents: int
    idempotency_key: str = Field(min_length=1, max_length=255)
    customer_email: str | None = None
    customer_name: str | None = None


RefundStatus = Literal["pending", "succeeded", "failed"]


class RefundView(Reply):
    """`id` is Stripe's refund id (the `reference` of the refund's ledger entry and credit note)."""

    id: str
    status: RefundStatus


class RefundTopupReply(Reply):
    refund: RefundView
    created: bool = False


class RefundTopup(Request):
    """The operator refunds (part of) a paid top-up; the same `idempotency_key` replays the first request."""

    subject: ClassVar[str] = "rpc.payments.topup.refund.v1"
    reply_model: ClassVar = RefundTopupReply
    topup_id: str  # any string the path carries: an unknown one answers not_found
    amount_cents: int
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: str = Field(min_length=1, max_length=255)
    requested_by: str = Field(default="admin", max_length=64)


class BonusTierView(View):
    min_cents: int
    percent: int


class TopupQuote(Reply):
    """What a top-up of `amount_cents` earns, and the terms a form shows (limits and bonus tiers)."""

    min_cents: int
    max_cents: int
    tiers: list[BonusTierView]
    amount_cents: int | None = None
    bonus_cents: int | None = None


class QuoteTopup(Request):
    """The portal's preview asks the owner of the bonus instead of computing it (`amount_cents` optional)."""

    subject: ClassVar[str] = "rpc.payments.topup.quote.v1"
    reply_model: ClassVar = TopupQuote
    amount_cents: int | None = Field(default=None, ge=0, le=10**11)


class GetTopup(Request):
    subject: ClassVar[str] = "rpc.payments.topup.get.v1"
    reply_model: ClassVar = CreateTopupReply
    tenant_id: str
    topup_id: str


class PaymentMethodView(View):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool


class PaymentMethodsReply(Reply):
    items: list[PaymentMethodView] = []
    item: PaymentMethodView | None = None
    error: dict | None = None


class ListPaymentMethods(Request):
    subject: ClassVar[str] = "rpc.payments.payment_methods.list.v1"
    reply_model: ClassVar = PaymentMethodsReply
    tenant_id: str


class AttachPaymentMethod(Request):
    subject: ClassVar[str] = "rpc.payments.payment_methods.attach.v1"
    reply_model: ClassVar = PaymentMethodsReply
    tenant_id: str
    payment_method_id: str
    make_default: bool = False


class SetDefaultPaymentMethod(Request):
    subject: ClassVar[str] = "rpc.payments.payment_methods.default.v1"
    reply_model: ClassVar = PaymentMethodsReply
    tenant_id: str
    payment_method_id: str


class DetachPaymentMethod(Request):
    subject: ClassVar[str] = "rpc.payments.payment_methods.detach.v1"
    reply_model: ClassVar = PaymentMethodsReply
    tenant_id: str
    payment_method_id: str


class SetupIntentReply(Reply):
    setup_intent_id: str | None = None
    client_secret: str | None = None
    error: dict | None = None


class CreateSetupIntent(Request):
    subject: ClassVar[str] = "rpc.payments.setup_intent.create.v1"
    reply_model: ClassVar = SetupIntentReply
    tenant_id: str


class StripeWebhookReply(Reply):
    accepted: bool
    duplicate: bool = False
    error: dict | None = None


class IngestStripeWebhook(Request):
    """The gateway forwards the raw body and signature; payments verifies and stores it durably."""

    subject: ClassVar[str] = "rpc.payments.stripe_webhook.v1"
    reply_model: ClassVar = StripeWebhookReply
    payload: str
    signature: str


class Discrepancy(View):
    kind: str  # payment_not_settled, payment_not_credited, refund_not_recorded, refund_not_in_ledger, …
    reference: str
    healed: bool


class ReconciliationReport(Reply):
    """The last reconciliation run (GET /admin/v1/reconciliation)."""

    started_at: datetime
    finished_at: datetime
    checked: dict[str, int]  # payments, refunds, credits, documents
    discrepancies: list[Discrepancy]


class GetReconciliation(Request):
    """The last finished run; `not_found` before the first one."""

    subject: ClassVar[str] = "rpc.payments.reconciliation.v1"
    reply_model: ClassVar = ReconciliationReport


# ---- the operator's tenant overview (rpc.payments.topup.last.v1, the admin API) ------------------


class LastTopupView(View):
    """A top-up as GET /v1/topups/{id} shows it (without the Checkout link), plus when it was started."""

    id: str
    status: TopupStatus
    amount_cents: int
    bonus_cents: int
    invoice_id: str | None = None
    failure_reason: str | None = None
    created_at: datetime


class LastTopupReply(Reply):
    topup: LastTopupView | None = None  # None: the tenant never started one


class GetLastTopup(Request):
    """The tenant's most recently started top-up, Checkout or automatic, whatever its status."""

    subject: ClassVar[str] = "rpc.payments.topup.last.v1"
    reply_model: ClassVar = LastTopupReply
    tenant_id: str = Field(min_length=1, max_length=64)


# ---- the operator console's top-ups of a tenant (rpc.payments.topup.list.v1) ---------------------

TOPUP_PAGE_MAX = 100


class TopupLine(View):
    """One top-up in the operator's list. `refunded_cents` is what went back or is held by a refund
    Stripe has not settled yet; `refundable_cents` what a refund may still ask for (0 unless paid)."""

    id: str
    status: TopupStatus
    source: TopupSource
    amount_cents: int
    bonus_cents: int
    refunded_cents: int
    refundable_cents: int
    invoice_id: str | None = None
    created_at: datetime


class TopupPage(Reply):
    items: list[TopupLine]
    next_cursor: str | None = None  # None: the last page


class ListTopups(Request):
    """A tenant's top-ups, Checkout and automatic, of every status: newest first, a keyset cursor."""

    subject: ClassVar[str] = "rpc.payments.topup.list.v1"
    reply_model: ClassVar = TopupPage
    tenant_id: str = Field(min_length=1, max_length=64)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=TOPUP_PAGE_MAX)
