"""The operator refunds a top-up through the admin API: Stripe refunds it, the customer sees the refund
and the reversed share of the bonus in the ledger and one credit note, however the API's own record and
Stripe's `charge.refunded` webhook meet; a replay changes nothing and nothing beyond the payment goes back."""

import asyncio
import uuid

import pytest

from tests.support.stack import ADMIN, eventually

from .support import documents_available, fund, new_customer, open_stack, transactions, wait_balance, wait_topup

pytestmark = pytest.mark.skipif(not documents_available(), reason="documents service not built")


def refund_of(s, topup_id: str, body: dict, key: str | None, headers: dict | None = None):
    headers = {**(headers or ADMIN), **({"Idempotency-Key": key} if key else {})}
    return s.http.post(f"/admin/v1/topups/{topup_id}/refunds", json=body, headers=headers)


async def credit_notes(s, auth: dict) -> list[dict]:
    response = await s.http.get("/v1/documents", params={"kind": "credit_note"}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_an_admin_refund_debits_reverses_the_bonus_share_and_issues_one_credit_note(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=True,
    ) as s:
        _, auth = await new_customer(s)
        topup = await fund(s, auth, 10_000, expected_balance=10_500)  # with its 5 % bonus
        await wait_topup(s, auth, topup["id"], "succeeded")
        key = uuid.uuid4().hex
        body = {"amount_cents": 4_000, "reason": "the customer was charged twice"}

        created = await refund_of(s, topup["id"], body, key)
        assert created.status_code == 202, created.text
        refund = created.json()
        assert set(refund) == {"id", "status"} and refund["status"] in ("pending", "succeeded")

        await wait_balance(s, auth, 10_500 - 4_000 - 200)  # and floor(500 × 4,000 / 10,000) of the bonus
        notes = await eventually(lambda: credit_notes(s, auth), timeout=30)
        await eventually(lambda: _webhook_came(s, "charge.refunded"), timeout=15)
        replay = await refund_of(s, topup["id"], body, key)
        other_body = await refund_of(s, topup["id"], {**body, "amount_cents": 1_000}, key)
        too_much = await refund_of(s, topup["id"], {**body, "amount_cents": 6_001}, uuid.uuid4().hex)
        unknown = await refund_of(s, "top_unknown", body, uuid.uuid4().hex)
        longer_than_any = await refund_of(s, "top_" + "x" * 60, body, uuid.uuid4().hex)
        without_key = await refund_of(s, topup["id"], body, None)
        zero = await refund_of(s, topup["id"], {**body, "amount_cents": 0}, uuid.uuid4().hex)
        as_tenant = await refund_of(s, topup["id"], body, uuid.uuid4().hex, headers=auth)
        await asyncio.sleep(1.0)  # whatever else was on its way has arrived
        after_first = await transactions(s, auth)
        notes_after_first = await credit_notes(s, auth)

        rest = await refund_of(s, topup["id"], {**body, "amount_cents": 6_000}, uuid.uuid4().hex)
        assert rest.status_code == 202, rest.text
        await wait_balance(s, auth, 0)  # all of the payment and all of its bonus
        await wait_topup(s, auth, topup["id"], "refunded")
        await eventually(lambda: _count(credit_notes(s, auth), 2), timeout=30)

    assert replay.status_code == 200 and replay.json()["id"] == refund["id"]
    assert replay.json()["status"] == "succeeded"
    assert (other_body.status_code, other_body.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (409, "conflict")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert longer_than_any.status_code == 404
    assert (without_key.status_code, without_key.json()["error"]["code"]) == (400, "validation_error")
    assert (zero.status_code, zero.json()["error"]["code"]) == (400, "validation_error")
    assert as_tenant.status_code == 401
    by_kind = sorted((t["kind"], t["amount_cents"]) for t in after_first)
    assert by_kind == [("bonus", -200), ("bonus", 500), ("refund", -4_000), ("topup", 10_000)]
    assert [n["total_cents"] for n in notes] == [4_000] and len(notes_after_first) == 1


async def _webhook_came(s, event_type: str) -> bool:
    return any(r.get("type") == event_type and r["status"] == 200 for r in s.receipts)


async def _count(items, n: int) -> bool:
    return len(await items) == n


async def test_a_requested_refund_that_fails_at_stripe_unseen_stops_holding_its_amount(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    reconcile_often = {"reconcile_interval_s": 1, "reconcile_first_run_s": 0.2, "reconcile_grace_s": 0}
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=True,
        payments_overrides=reconcile_often,
    ) as s:
        _, auth = await new_customer(s)
        topup = await fund(s, auth, 10_000, expected_balance=10_500)
        body = {"amount_cents": 7_000, "reason": "cancelled contract"}
        await asyncio.to_thread(e2e_stripe.pending_refunds, True)
        try:
            held = await refund_of(s, topup["id"], body, uuid.uuid4().hex)
            assert held.status_code == 202 and held.json()["status"] == "pending", held.text
            await asyncio.to_thread(e2e_stripe.pending_refunds, False)
            await asyncio.to_thread(e2e_stripe.inject_faults, drop_webhooks=1.0)
            await asyncio.to_thread(e2e_stripe.settle_refund, held.json()["id"], "failed")  # its webhooks lost
            refused = await refund_of(s, topup["id"], {**body, "amount_cents": 10_000}, uuid.uuid4().hex)

            async def all_of_it():  # once the reconciler has seen the failed refund
                response = await refund_of(s, topup["id"], {**body, "amount_cents": 10_000}, uuid.uuid4().hex)
                return response if response.status_code == 202 else None

            whole = await eventually(all_of_it, timeout=60)  # a reconciler run under load takes a while
        finally:
            await asyncio.to_thread(e2e_stripe.pending_refunds, False)
            await asyncio.to_thread(e2e_stripe.clear_faults)
        await wait_balance(s, auth, 0, timeout=30)  # recorded by the API itself: its webhook was dropped too

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    assert whole.json()["status"] == "succeeded"
