"""One owner decides the top-up bonus (payments, from TOPUP_BONUS_TIERS): the answer of POST /v1/topups,
the portal's preview and the bonus entry credited by billing agree, also with tiers other than the default."""

import httpx
import pytest

from tests.integration.gateway.test_portal_auth import form_token
from tests.support.stack import ADMIN

from .support import documents_available, fund, new_customer, open_stack, transactions

TIERS = "5000:20,20000:30"  # not API.md's default (10000:5,25000:10,50000:15)
PASSWORD = "correct horse battery"


@pytest.fixture
async def stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=documents_available(),
        payments_overrides={"topup_bonus_tiers": TIERS},
    ) as s:
        yield s


async def test_the_answer_the_preview_and_the_credited_bonus_follow_the_configured_tiers(stack):
    tenant_id, auth = await new_customer(stack)
    email = f"{tenant_id}@portal.example"
    created = await stack.http.post(
        f"/admin/v1/tenants/{tenant_id}/users", json={"email": email, "password": PASSWORD}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    async with httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=10) as web:
        login = await web.get("/login")
        await web.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": form_token(login.text)})
        preview = await web.get("/portal/topup", params={"amount": "100", "lang": "de"})
    assert preview.status_code == 200
    assert "erhalten 20,00\u00a0€ Bonus" in preview.text or "erhalten 20,00 € Bonus" in preview.text, preview.text
    assert 'data-tiers="5000:20,20000:30"' in preview.text

    topup = await fund(stack, auth, 10_000, expected_balance=12_000)
    assert topup["bonus_cents"] == 2_000
    assert sorted((t["kind"], t["amount_cents"]) for t in await transactions(stack, auth)) == [
        ("bonus", 2_000),
        ("topup", 10_000),
    ]
