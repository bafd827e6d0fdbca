"""The reconciler heals what webhooks never said: a payment and a refund whose every webhook was lost
are credited, debited and documented, a late webhook afterwards changes nothing, and the operator
reads the report at GET /admin/v1/reconciliation."""

import asyncio
import uuid

from prometheus_client import REGISTRY

from services.payments.stripe.client import StripeAdapter
from tests.support.stack import ADMIN, eventually

from .support import (
    balance,
    customer_id,
    documents_available,
    intents_of,
    new_customer,
    open_stack,
    pay,
    start_topup,
    transactions,
    wait_balance,
    wait_topup,
)

RECONCILE_OFTEN = {"reconcile_interval_s": 2, "reconcile_first_run_s": 0.5, "reconcile_grace_s": 0}


async def test_the_reconciler_heals_a_payment_and_a_refund_whose_webhooks_were_lost(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=documents_available(),
        payments_overrides=RECONCILE_OFTEN,
    ) as s:
        tenant_id, auth = await new_customer(s)
        before = {kind: found(kind) for kind in ("payment_not_settled", "refund_not_recorded")}
        await asyncio.to_thread(e2e_stripe.inject_faults, drop_webhooks=1.0)
        try:
            topup = await start_topup(s, auth, 10_000)
            await pay(s, topup["checkout_url"], payment_method="pm_card_visa")

            await wait_topup(s, auth, topup["id"], "succeeded", timeout=20)  # healed: no webhook came
            await wait_balance(s, auth, 10_500)  # with its 5 % bonus
            [intent] = await intents_of(e2e_stripe, await customer_id(s, tenant_id))
            stripe = StripeAdapter(api_key=e2e_stripe.api_key, api_base=e2e_stripe.base_url)
            try:
                await stripe.refund(
                    payment_intent_id=intent["id"], idempotency_key=uuid.uuid4().hex, amount_cents=4_000
                )
            finally:
                await stripe.aclose()
            await wait_balance(s, auth, 10_500 - 4_000 - 200, timeout=20)  # and floor(500 × 4,000 / 10,000)
            if documents_available():
                kinds = await eventually(lambda: _documents(s, auth, {"invoice", "credit_note"}), timeout=30)
                assert sorted(kinds) == ["credit_note", "invoice"]
            dropped = (await asyncio.to_thread(e2e_stripe.faults))["dropped_webhooks"]
        finally:
            await asyncio.to_thread(e2e_stripe.clear_faults)

        for event_id in dropped:  # Stripe's late deliveries after all: nothing changes
            await asyncio.to_thread(e2e_stripe.resend_event, event_id)
        await asyncio.sleep(3)
        assert await balance(s, auth) == 6_300
        assert sorted(t["kind"] for t in await transactions(s, auth)) == ["bonus", "bonus", "refund", "topup"]

        response = await s.http.get("/admin/v1/reconciliation", headers=ADMIN)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["checked"]["payments"] >= 1 and report["finished_at"] >= report["started_at"]
        assert all(d["healed"] for d in report["discrepancies"])  # the last run: nothing left, or healed
        assert found("payment_not_settled") - before["payment_not_settled"] >= 1
        assert found("refund_not_recorded") - before["refund_not_recorded"] >= 1
        assert (await s.http.get("/admin/v1/reconciliation")).status_code == 401


def found(kind: str) -> float:
    return REGISTRY.get_sample_value("reconciliation_discrepancies_total", {"kind": kind}) or 0.0


async def _documents(s, auth: dict, kinds: set[str]):
    items = (await s.http.get("/v1/documents", headers=auth)).json()["items"]
    found = [d["kind"] for d in items]
    return found if set(found) >= kinds else None
