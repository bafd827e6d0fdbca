"""Payments' subscribers: parse, call one use case, translate refusals into API error codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from contracts.billing.v1 import AccountUpdated, AutoTopupCheckRequested, AutoTopupRequested
from contracts.documents.v1 import DocumentIssued
from contracts.payments.v1 import (
    AttachPaymentMethod,
    CreateSetupIntent,
    CreateTopup,
    DetachPaymentMethod,
    GetLastTopup,
    GetReconciliation,
    GetTopup,
    IngestStripeWebhook,
    ListPaymentMethods,
    ListTopups,
    PaymentMethodsReply,
    QuoteTopup,
    RefundTopup,
    SetDefaultPaymentMethod,
)
from runtime.handlers import event_consumer, rpc
from runtime.messaging import ServiceError
from services.payments import autotopup, cards, checkout_topups, invoices, profiles, refunds, webhooks
from services.payments.domain.topups import TopupRuleViolation
from services.payments.reconciler import Reconciler
from services.payments.stripe.errors import CardDeclined, StripeAdapterError, StripeUnavailable

NOT_FOUND = (checkout_topups.TopupNotFound, cards.CardNotFound)


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except TopupRuleViolation as exc:
        raise ServiceError(exc.code, str(exc)) from exc
    except NOT_FOUND as exc:
        raise ServiceError("not_found", str(exc)) from exc
    except webhooks.InvalidWebhook as exc:
        raise ServiceError("validation_error", f"invalid Stripe webhook: {exc}") from exc
    except CardDeclined as exc:
        raise ServiceError("validation_error", f"the card was declined: {exc.message}") from exc
    except StripeUnavailable as exc:
        raise ServiceError("unavailable", "the payment provider is not reachable, try again") from exc
    except StripeAdapterError as exc:
        raise ServiceError("internal_error", f"the payment provider refused: {exc.message}") from exc


def register(
    broker,
    consumers: list,
    *,
    db,
    settings,
    adapter,
    workers: webhooks.WebhookWorkers,
    checkout: checkout_topups.CheckoutConfig,
    reconciler: Reconciler,
) -> None:
    queue = "payments"

    @rpc(broker, CreateTopup, queue=queue)
    async def on_create_topup(req: CreateTopup):
        with refusals():
            return await checkout_topups.create_topup(
                db=db,
                adapter=adapter,
                config=checkout,
                tenant_id=req.tenant_id,
                amount_cents=req.amount_cents,
                idempotency_key=req.idempotency_key,
                customer_email=req.customer_email,
                customer_name=req.customer_name,
            )

    @rpc(broker, QuoteTopup, queue=queue)
    async def on_quote_topup(req: QuoteTopup):
        return checkout_topups.quote_topup(config=checkout, amount_cents=req.amount_cents)

    @rpc(broker, GetTopup, queue=queue)
    async def on_get_topup(req: GetTopup):
        with refusals():
            return await checkout_topups.get_topup(db=db, tenant_id=req.tenant_id, topup_id=req.topup_id)

    @rpc(broker, GetLastTopup, queue=queue)
    async def on_get_last_topup(req: GetLastTopup):
        return await checkout_topups.last_topup(db=db, tenant_id=req.tenant_id)

    @rpc(broker, ListTopups, queue=queue)
    async def on_list_topups(req: ListTopups):
        return await checkout_topups.list_topups(db=db, req=req)

    @rpc(broker, RefundTopup, queue=queue)
    async def on_refund_topup(req: RefundTopup):
        with refusals():
            return await refunds.refund_topup(
                db=db,
                adapter=adapter,
                topup_id=req.topup_id,
                amount_cents=req.amount_cents,
                reason=req.reason,
                idempotency_key=req.idempotency_key,
                requested_by=req.requested_by,
            )

    @rpc(broker, IngestStripeWebhook, queue=queue)
    async def on_stripe_webhook(req: IngestStripeWebhook):
        with refusals():
            reply = await webhooks.ingest_webhook(
                db=db,
                payload=req.payload,
                signature=req.signature,
                secret=settings.stripe_webhook_secret,
                tolerance_s=settings.stripe_webhook_tolerance_s,
            )
        workers.wake()
        return reply

    @rpc(broker, ListPaymentMethods, queue=queue)
    async def on_list_payment_methods(req: ListPaymentMethods):
        return PaymentMethodsReply(items=await cards.list_cards(db=db, tenant_id=req.tenant_id))

    @rpc(broker, AttachPaymentMethod, queue=queue)
    async def on_attach_payment_method(req: AttachPaymentMethod):
        with refusals():
            return PaymentMethodsReply(
                item=await cards.attach_card(
                    db=db,
                    adapter=adapter,
                    tenant_id=req.tenant_id,
                    payment_method_id=req.payment_method_id,
                    make_default=req.make_default,
                )
            )

    @rpc(broker, SetDefaultPaymentMethod, queue=queue)
    async def on_set_default_payment_method(req: SetDefaultPaymentMethod):
        with refusals():
            return PaymentMethodsReply(
                item=await cards.set_default_card(
                    db=db, adapter=adapter, tenant_id=req.tenant_id, payment_method_id=req.payment_method_id
                )
            )

    @rpc(broker, DetachPaymentMethod, queue=queue)
    async def on_detach_payment_method(req: DetachPaymentMethod):
        with refusals():
            return PaymentMethodsReply(
                item=await cards.detach_card(
                    db=db, adapter=adapter, tenant_id=req.tenant_id, payment_method_id=req.payment_method_id
                )
            )

    @rpc(broker, CreateSetupIntent, queue=queue)
    async def on_create_setup_intent(req: CreateSetupIntent):
        with refusals():
            return await cards.create_setup_intent(db=db, adapter=adapter, tenant_id=req.tenant_id)

    @rpc(broker, GetReconciliation, queue=queue)
    async def on_get_reconciliation(req: GetReconciliation):
        report = await reconciler.last_report()
        if report is None:
            raise ServiceError("not_found", "the reconciler has not finished a run yet")
        return report

    @event_consumer(consumers, AutoTopupRequested, durable="payments-autotopup-requested")
    async def on_autotopup_requested(requests: list[AutoTopupRequested]) -> None:
        for request in requests:
            await autotopup.charge_saved_card(
                db=db, adapter=adapter, request=request, tiers=checkout.tiers, portal_url=checkout.portal_url
            )

    @event_consumer(consumers, AutoTopupCheckRequested, durable="payments-autotopup-check")
    async def on_autotopup_check_requested(requests: list[AutoTopupCheckRequested]) -> None:
        for request in requests:
            await autotopup.check_charge(
                db=db, adapter=adapter, request=request, tiers=checkout.tiers, portal_url=checkout.portal_url
            )

    @event_consumer(consumers, AccountUpdated, durable=profiles.CONSUMER)
    async def on_account_updated(events: list[AccountUpdated]) -> None:
        await profiles.remember(db=db, adapter=adapter, events=events)

    @event_consumer(consumers, DocumentIssued, durable=invoices.CONSUMER)
    async def on_document_issued(events: list[DocumentIssued]) -> None:
        await invoices.link(db=db, events=events)
