"""Billing's subscribers: parse, call one use case, nothing else."""

from __future__ import annotations

from contracts.billing.v1 import AccountReply as AccountReplyModel
from contracts.billing.v1 import (
    CreateAccount,
    CreateAdjustment,
    CreateGrant,
    GetAccount,
    GetBalance,
    GetDashboard,
    GetStatement,
    GetTenantOverview,
    ListGrants,
    ListTenants,
    ListTransactions,
    ReconcileLedger,
    Release,
    Reserve,
    Settle,
    UpdateAccount,
    VoidGrant,
)
from contracts.payments.v1 import PaymentRefunded, TopupPaid
from contracts.usage.v1 import UsageRecorded
from runtime.handlers import batch_consumer, event_consumer, rpc
from runtime.messaging import ServiceError
from services.billing import (
    accounts,
    adjustments,
    grants,
    queries,
    reconciliation,
    reservations,
    tenant_overview,
    use_cases,
)
from services.billing.autotopup import wiring as autotopup_wiring
from services.billing.config import BillingSettings
from services.billing.deps import BillingDeps


def register(broker, consumers: list, *, deps: BillingDeps, settings: BillingSettings) -> None:
    db = deps.db
    queue = "billing"

    @batch_consumer(
        consumers,
        UsageRecorded,
        durable="billing-usage",
        batch_size=settings.usage_batch_size,
        parallel=settings.usage_consumers,
    )
    async def on_usage_recorded(records: list[UsageRecorded]) -> None:
        await use_cases.record_usage(deps=deps, records=records)

    @event_consumer(consumers, TopupPaid, durable="billing-topup-paid")
    async def on_topup_paid(events: list[TopupPaid]) -> None:
        for paid in events:  # a Checkout top-up, or an auto top-up's charge (its rule settles with it)
            await use_cases.credit_topup(deps=deps, paid=paid)

    @event_consumer(consumers, PaymentRefunded, durable="billing-payment-refunded")
    async def on_payment_refunded(events: list[PaymentRefunded]) -> None:
        for refund in events:
            await use_cases.record_refund(deps=deps, refund=refund)

    @rpc(broker, Reserve, queue=queue)
    async def on_reserve(req: Reserve):
        return await reservations.reserve(deps=deps, req=req)

    @rpc(broker, Settle, queue=queue)
    async def on_settle(req: Settle):
        return await reservations.settle(deps=deps, req=req)

    @rpc(broker, Release, queue=queue)
    async def on_release(req: Release):
        return await reservations.release(deps=deps, req=req)

    @rpc(broker, GetBalance, queue=queue)
    async def on_get_balance(req: GetBalance):
        return await queries.get_balance(deps=deps, tenant_id=req.tenant_id, as_of=req.as_of)

    @rpc(broker, ListTransactions, queue=queue)
    async def on_list_transactions(req: ListTransactions):
        try:
            return await queries.list_transactions(
                db=db,
                tenant_id=req.tenant_id,
                limit=req.limit,
                cursor=req.cursor,
                kind=req.kind,
                since=req.since,
                until=req.until,
            )
        except ValueError as exc:
            raise ServiceError("validation_error", str(exc)) from exc

    @rpc(broker, GetDashboard, queue=queue)
    async def on_get_dashboard(req: GetDashboard):
        return await queries.dashboard(deps=deps, tenant_id=req.tenant_id, days=req.days)

    @rpc(broker, GetStatement, queue=queue)
    async def on_get_statement(req: GetStatement):
        return await queries.statement(db=db, tenant_id=req.tenant_id, month=req.month, tz=settings.timezone)

    @rpc(broker, CreateAccount, queue=queue)
    async def on_create_account(req: CreateAccount):
        return AccountReplyModel(profile=await accounts.create_account(db=db, profile=req.profile))

    @rpc(broker, GetAccount, queue=queue)
    async def on_get_account(req: GetAccount):
        return AccountReplyModel(profile=await accounts.get_account(db=db, tenant_id=req.tenant_id))

    @rpc(broker, UpdateAccount, queue=queue)
    async def on_update_account(req: UpdateAccount):
        return AccountReplyModel(
            profile=await accounts.update_account(db=db, tenant_id=req.tenant_id, changes=req.changes)
        )

    @rpc(broker, CreateAdjustment, queue=queue)
    async def on_create_adjustment(req: CreateAdjustment):
        return await adjustments.record_adjustment(deps=deps, req=req)

    @rpc(broker, ListTenants, queue=queue)
    async def on_list_tenants(req: ListTenants):
        return await tenant_overview.list_tenants(deps=deps, req=req)

    @rpc(broker, GetTenantOverview, queue=queue)
    async def on_get_tenant_overview(req: GetTenantOverview):
        return await tenant_overview.get_tenant(deps=deps, tenant_id=req.tenant_id)

    @rpc(broker, CreateGrant, queue=queue)
    async def on_create_grant(req: CreateGrant):
        return await grants.create_grant(deps=deps, req=req)

    @rpc(broker, ListGrants, queue=queue)
    async def on_list_grants(req: ListGrants):
        return await grants.list_grants(deps=deps, tenant_id=req.tenant_id)

    @rpc(broker, VoidGrant, queue=queue)
    async def on_void_grant(req: VoidGrant):
        return await grants.void_grant(deps=deps, grant_id=req.grant_id)

    @rpc(broker, ReconcileLedger, queue=queue)
    async def on_reconcile_ledger(req: ReconcileLedger):
        return await reconciliation.reconcile(db=db, topup_ids=req.topup_ids, refund_ids=req.refund_ids)

    autotopup_wiring.register(broker, consumers, deps=deps)
