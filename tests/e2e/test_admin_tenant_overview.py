"""The operator's tenant overview through the gateway: a searchable list, newest first, paged by cursor
without gaps or duplicates, whose balances and runway are the customer's own numbers; and one tenant's
detail with its auto top-up rule and last top-up — billing and payments asked over NATS, for real."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.billing.v1 import Reserve
from runtime.messaging import request
from tests.support.stack import ADMIN, publish_usage

from .support import autotopup, enable_autotopup, fund, new_customer, open_stack, save_card, wait_balance


@pytest.fixture
async def stack(nats_url, database_url, new_schema, e2e_stripe, tmp_path):
    async with open_stack(
        nats_url=nats_url, database_url=database_url, new_schema=new_schema, emulator=e2e_stripe, tmp_path=tmp_path
    ) as s:
        yield s


async def tenants(s, headers=ADMIN, **params) -> dict:
    response = await s.http.get("/admin/v1/tenants", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def tenant(s, tenant_id: str) -> dict:
    response = await s.http.get(f"/admin/v1/tenants/{tenant_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


async def test_the_list_is_newest_first_and_its_cursor_pages_have_no_gap_and_no_duplicate(stack):
    created = [(await new_customer(stack, name=f"Kunde {n}"))[0] for n in range(7)]
    newest_first = created[::-1]

    assert ids(await tenants(stack)) == newest_first
    pages, cursor = [], None
    while True:
        page = await tenants(stack, limit=3, **({"cursor": cursor} if cursor else {}))
        pages.append(ids(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [tenant_id for p in pages for tenant_id in p] == newest_first


async def test_search_finds_part_of_a_name_an_email_in_any_case_or_an_id_and_may_find_nothing(stack):
    telefonie, _ = await new_customer(stack, name="Alpha Telefonie GmbH", email="rechnung@alpha.example")
    calls, _ = await new_customer(stack, name="Beta Calls AG", email="Billing@Gamma-Calls.Example")
    await new_customer(stack, name="Delta_Daten 100% KG", email="info@delta.example")

    assert ids(await tenants(stack, query="telefon")) == [telefonie]
    assert ids(await tenants(stack, query="gamma-calls.EXAMPLE")) == [calls]
    assert ids(await tenants(stack, query="CALLS")) == [calls]
    assert ids(await tenants(stack, query=calls)) == [calls]
    assert ids(await tenants(stack, query=telefonie[:12])) == [telefonie]
    # LIKE's wildcards are literal: "a_t" is no pattern, "%" only finds a name that has one
    assert ids(await tenants(stack, query="a_t")) == []
    assert len(ids(await tenants(stack, query="100%"))) == 1
    nothing = await tenants(stack, query="niemand-" + uuid.uuid4().hex)
    assert nothing == {"items": [], "next_cursor": None}


async def test_the_list_and_the_detail_agree_with_the_customers_balance_and_dashboard(stack):
    tenant_id, auth = await new_customer(stack, name="Usage GmbH")
    credit = await stack.http.post(
        f"/admin/v1/tenants/{tenant_id}/adjustments",
        json={"amount_cents": 10_000, "reason": "Startguthaben"},
        headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert credit.status_code == 201, credit.text
    now = datetime.now(UTC).isoformat()
    js = stack.nc.jetstream()
    for n in range(3):
        await publish_usage(js, usage_id=f"{tenant_id}-u{n}", tenant_id=tenant_id, amount_cents=700, occurred_at=now)
    hold = await request(stack.nc, Reserve(id=f"{tenant_id}-r1", tenant_id=tenant_id, amount_cents=1_500))
    assert hold.ok

    await wait_balance(stack, auth, 10_000 - 2_100)
    balance = (await stack.http.get("/v1/balance", headers=auth)).json()
    dashboard = (await stack.http.get("/v1/dashboard", headers=auth)).json()
    [listed] = (await tenants(stack, query=tenant_id))["items"]
    detail = await tenant(stack, tenant_id)

    assert dashboard["projected_days_left"] == (7_900 - 1_500) * 7 // 2_100  # 21 days, not None, not 0
    expected = {
        "id": tenant_id,
        "name": "Usage GmbH",
        "email": "billing@muster.example",
        "balance_cents": balance["balance_cents"],
        "available_cents": balance["available_cents"],
        "projected_days_left": dashboard["projected_days_left"],
        "autotopup_state": "disabled",
    }
    assert listed == expected
    assert {k: detail[k] for k in expected} == expected
    assert balance["available_cents"] == dashboard["available_cents"] == 6_400
    # no promotional credit exists yet: all of the balance is paid
    assert (detail["paid_cents"], detail["promotional_cents"]) == (7_900, 0)


async def test_the_detail_shows_the_auto_topup_rule_and_the_last_topup(stack):
    tenant_id, auth = await new_customer(stack)
    before = await tenant(stack, tenant_id)
    assert before["last_topup"] is None
    assert before["autotopup"] == {**(await autotopup(stack, auth)), "last_failure_reason": None}

    topup = await fund(stack, auth, 10_000, expected_balance=10_500)
    await save_card(stack, auth)
    rule = await enable_autotopup(stack, auth, threshold=2_000, amount=5_000, limit=20_000)

    detail = await tenant(stack, tenant_id)
    assert detail["autotopup"] == {**rule, "last_failure_reason": None}
    assert (detail["autotopup"]["enabled"], detail["autotopup"]["state"]) == (True, "idle")
    assert detail["autotopup_state"] == "idle"
    last = detail["last_topup"]
    assert (last["id"], last["status"], last["amount_cents"], last["bonus_cents"]) == (
        topup["id"],
        "succeeded",
        10_000,
        500,
    )
    assert last["created_at"]
    assert [item["autotopup_state"] for item in (await tenants(stack, query=tenant_id))["items"]] == ["idle"]


async def test_an_unknown_tenant_is_not_found_and_only_the_admin_token_may_look(stack):
    tenant_id, auth = await new_customer(stack)
    for unknown in ("ten_doesnotexist", "x" * 300):
        response = await stack.http.get(f"/admin/v1/tenants/{unknown}", headers=ADMIN)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    for headers in (auth, {}):
        for path in ("/admin/v1/tenants", f"/admin/v1/tenants/{tenant_id}"):
            response = await stack.http.get(path, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")
    bad_cursor = await stack.http.get("/admin/v1/tenants", params={"cursor": "not-a-cursor"}, headers=ADMIN)
    assert (bad_cursor.status_code, bad_cursor.json()["error"]["code"]) == (400, "validation_error")
    too_many = await stack.http.get("/admin/v1/tenants", params={"limit": 201}, headers=ADMIN)
    assert too_many.status_code in (400, 422)

    paths = (await stack.http.get("/openapi.json")).json()["paths"]
    ok = "200"
    list_schema = paths["/admin/v1/tenants"]["get"]["responses"][ok]["content"]["application/json"]["schema"]
    detail_schema = paths["/admin/v1/tenants/{tenant_id}"]["get"]["responses"][ok]["content"]["application/json"]
    assert list_schema["$ref"].endswith("/TenantList")
    assert detail_schema["schema"]["$ref"].endswith("/TenantDetail")
