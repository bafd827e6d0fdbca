"""Promotional credit through the gateway: the operator grants credit with a reason, usage burns it
before paid balance, the customer sees the split and the next expiry, voiding takes what is left —
once per idempotency key, whatever the retries."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from runtime.calendar import Calendar
from tests.support.stack import ADMIN, create_tenant, eventually, nats_client, publish_usage

from .support import documents_available
from .test_adjustments import adjust, error_of, stack

GRANT_FIELDS = {"id", "amount_cents", "remaining_cents", "expires_at", "priority", "reason", "created_at"}


async def give(http, tenant_id: str, body: dict, *, key: str | None = None, headers=ADMIN):
    key_header = {} if key == "" else {"Idempotency-Key": key or uuid.uuid4().hex}
    return await http.post(f"/admin/v1/tenants/{tenant_id}/grants", json=body, headers={**headers, **key_header})


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_usage_burns_a_grant_before_paid_balance_and_the_customer_sees_the_split(
    nats_url, database_url, new_schema
):
    async with stack(nats_url, database_url, new_schema) as http, nats_client(nats_url) as nc:
        tenant_id, auth = await create_tenant(http)
        assert (await adjust(http, tenant_id, 1_000, "Startguthaben bezahlt")).status_code == 201
        expires = in_days(10)

        created = await give(http, tenant_id, {"amount_cents": 3_000, "reason": "Testphase", "expires_at": expires})
        assert created.status_code == 201, created.text
        grant = created.json()
        assert set(grant) == GRANT_FIELDS
        assert (grant["amount_cents"], grant["remaining_cents"], grant["priority"], grant["reason"]) == (
            3_000,
            3_000,
            100,
            "Testphase",
        )
        assert datetime.fromisoformat(grant["expires_at"]) == datetime.fromisoformat(expires)

        await publish_usage(nc.jetstream(), usage_id=f"u-{uuid.uuid4().hex}", tenant_id=tenant_id, amount_cents=1_200)

        async def balance_after_usage():
            body = (await http.get("/v1/balance", headers=auth)).json()
            return body if body["balance_cents"] == 2_800 else None

        balance = await eventually(balance_after_usage)
        assert (balance["paid_cents"], balance["promotional_cents"]) == (1_000, 1_800)
        assert balance["next_expiry"]["amount_cents"] == 1_800
        assert datetime.fromisoformat(balance["next_expiry"]["expires_at"]) == datetime.fromisoformat(expires)
        dashboard = (await http.get("/v1/dashboard", headers=auth)).json()
        assert (dashboard["paid_cents"], dashboard["promotional_cents"]) == (1_000, 1_800)

        mine = (await http.get("/v1/grants", headers=auth)).json()["items"]
        listed = (await http.get(f"/admin/v1/tenants/{tenant_id}/grants", headers=ADMIN)).json()["items"]
        assert mine == listed and [(g["id"], g["remaining_cents"]) for g in mine] == [(grant["id"], 1_800)]
        kinds = [
            (t["kind"], t["amount_cents"], t["description"])
            for t in (await http.get("/v1/transactions", headers=auth)).json()["items"]
        ]
        assert kinds[1] == ("grant", 3_000, "Testphase")
        filtered = (await http.get("/v1/transactions", params={"kind": "grant"}, headers=auth)).json()["items"]
        assert [t["reference"] for t in filtered] == [grant["id"]]


async def test_voiding_a_partly_used_grant_takes_only_the_rest_once(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http, nats_client(nats_url) as nc:
        tenant_id, auth = await create_tenant(http)
        grant = (await give(http, tenant_id, {"amount_cents": 500, "reason": "Kulanz"})).json()
        await publish_usage(nc.jetstream(), usage_id=f"u-{uuid.uuid4().hex}", tenant_id=tenant_id, amount_cents=200)
        await eventually(
            lambda: _balance_is(http, auth, 300),
        )

        voided = await http.post(f"/admin/v1/grants/{grant['id']}/void", headers=ADMIN)
        again = await http.post(f"/admin/v1/grants/{grant['id']}/void", headers=ADMIN)
        unknown = await http.post("/admin/v1/grants/grt_unknown/void", headers=ADMIN)
        as_tenant = await http.post(f"/admin/v1/grants/{grant['id']}/void", headers=auth)

        assert voided.status_code == 200, voided.text
        assert voided.json() == {**grant, "remaining_cents": 0}
        assert again.status_code == 200 and again.json() == voided.json()
        assert error_of(unknown) == (404, "not_found")
        assert error_of(as_tenant) == (401, "unauthenticated")
        balance = (await http.get("/v1/balance", headers=auth)).json()
        assert (balance["balance_cents"], balance["paid_cents"], balance["promotional_cents"]) == (0, 0, 0)
        assert balance["next_expiry"] is None
        expiries = (await http.get("/v1/transactions", params={"kind": "expiry"}, headers=auth)).json()["items"]
        assert [(t["amount_cents"], t["description"], t["reference"]) for t in expiries] == [
            (-300, "Kulanz", grant["id"])
        ]


async def _balance_is(http, auth, cents: int) -> bool:
    return (await http.get("/v1/balance", headers=auth)).json()["balance_cents"] == cents


async def test_the_same_grant_key_answers_the_first_grant_and_bad_requests_change_nothing(
    nats_url, database_url, new_schema
):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        other_id, other_auth = await create_tenant(http)
        body = {"amount_cents": 2_000, "reason": "Kampagne", "priority": 5}
        first = await give(http, tenant_id, body, key="g-1")
        again = await give(http, tenant_id, body, key="g-1")
        other_body = await give(http, tenant_id, {**body, "amount_cents": 2_001}, key="g-1")
        no_key = await give(http, tenant_id, body, key="")

        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.json() == first.json()
        assert error_of(other_body) == (409, "idempotency_conflict")
        assert error_of(no_key) == (400, "validation_error")
        assert error_of(await give(http, tenant_id, {**body, "reason": "  "}))[1] == "validation_error"
        assert error_of(await give(http, tenant_id, {**body, "expires_at": in_days(-1)}))[1] == "validation_error"
        assert error_of(await give(http, tenant_id, {**body, "amount_cents": 0}))[1] == "validation_error"
        assert error_of(await give(http, tenant_id, {**body, "priority": -1}))[1] == "validation_error"
        assert error_of(await give(http, "ten_does_not_exist", body)) == (404, "not_found")
        assert error_of(await give(http, tenant_id, body, headers=auth)) == (401, "unauthenticated")
        assert error_of(await http.get("/admin/v1/tenants/ten_does_not_exist/grants", headers=ADMIN)) == (
            404,
            "not_found",
        )

        assert [g["id"] for g in (await http.get("/v1/grants", headers=auth)).json()["items"]] == [first.json()["id"]]
        assert (await http.get("/v1/grants", headers=other_auth)).json()["items"] == []
        assert (await http.get("/v1/balance", headers=auth)).json()["promotional_cents"] == 2_000
        assert other_id != tenant_id


async def test_ten_concurrent_copies_of_one_grant_request_make_one_grant(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        body = {"amount_cents": 4_321, "reason": "Gutschrift Störung", "expires_at": in_days(30)}
        answers = await asyncio.gather(*(give(http, tenant_id, body, key="retried") for _ in range(10)))

        assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
        assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
        assert (await http.get("/v1/balance", headers=auth)).json()["balance_cents"] == 4_321
        assert len((await http.get("/v1/grants", headers=auth)).json()["items"]) == 1


@pytest.mark.skipif(not documents_available(), reason="documents service not built")
async def test_the_monthly_statement_lists_grants_and_expiries_with_their_reason(
    nats_url, database_url, new_schema, tmp_path
):
    async with stack(nats_url, database_url, new_schema, tmp_path, with_documents=True) as http:
        tenant_id, auth = await create_tenant(http)
        grant = (await give(http, tenant_id, {"amount_cents": 1_500, "reason": "Willkommensguthaben"})).json()
        assert (await http.post(f"/admin/v1/grants/{grant['id']}/void", headers=ADMIN)).status_code == 200
        month = Calendar().today().strftime("%Y-%m")
        statement = (await http.post("/v1/statements", json={"month": month}, headers=auth)).json()["id"]
        csv_answer = None
        for _ in range(600):
            csv_answer = await http.get(f"/v1/documents/{statement}/csv", headers=auth)
            if csv_answer.status_code != 409:
                break
            await asyncio.sleep(0.1)
        pdf = await http.get(f"/v1/documents/{statement}/pdf", headers=auth)
        invoices = (await http.get("/v1/documents", params={"kind": "invoice"}, headers=auth)).json()["items"]

    assert csv_answer is not None and csv_answer.status_code == 200, csv_answer.text
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig")), delimiter=";"))[1:]
    assert [(r[1], r[2], r[4]) for r in rows if r[1] in ("grant", "expiry")] == [
        ("grant", "15,00", "Willkommensguthaben"),
        ("expiry", "-15,00", "Willkommensguthaben"),
    ]
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Willkommensguthaben" in text and "Aktionsguthaben" in text and "Verfall" in text
    assert invoices == []  # a grant is not a payment: no invoice
