"""The running billing service (its own NATS user) expires a grant at its `expires_at` and tells the
customer: `credits.expiring` when the grant is made (it expires within the notice period), then
`credits.expired` with what was left — both published on PORTAL, each once."""

import asyncio
import json
from datetime import timedelta

from contracts.base import utcnow
from contracts.billing.v1 import AccountProfile, CreateAccount, CreateGrant, GetBalance
from runtime.messaging import request
from tests.support.stack import billing, eventually, nats_client, running


async def test_a_running_billing_expires_a_grant_and_tells_the_customer_once(
    nats_url, database_url, new_schema, tenant_id
):
    service = billing(nats_url, database_url, new_schema("bil"), grant_sweep_s=0.1)
    async with running(service), nats_client(nats_url) as nc:
        seen: list[tuple[str, dict]] = []

        async def collect(msg) -> None:
            body = json.loads(msg.data)
            if body.get("tenant_id") == tenant_id:
                seen.append((msg.subject, body["data"]))

        await nc.subscribe("portal.credits.*.v1", cb=collect)
        await request(
            nc, CreateAccount(profile=AccountProfile(tenant_id=tenant_id, name="Muster", email="a@b.example"))
        )
        reply = await request(
            nc,
            CreateGrant(
                tenant_id=tenant_id,
                amount_cents=900,
                reason="Testphase",
                expires_at=utcnow() + timedelta(seconds=1.5),
                idempotency_key="g-1",
            ),
        )
        grant_id = reply.grant.id

        await eventually(lambda: len(seen) >= 2, timeout=20)
        await asyncio.sleep(0.5)  # a second runner round would have sent a second one by now

        assert seen == [
            (
                "portal.credits.expiring.v1",
                {"grant_id": grant_id, "amount_cents": 900, "expires_at": seen[0][1]["expires_at"]},
            ),
            ("portal.credits.expired.v1", {"grant_id": grant_id, "amount_cents": 900}),
        ]
        balance = await request(nc, GetBalance(tenant_id=tenant_id))
        assert (balance.balance_cents, balance.promotional_cents, balance.next_expiry) == (0, 0, None)
