"""Operator adjustments through the gateway: a signed correction with a reason the customer reads in
transactions, the live stream and the monthly statement — once per idempotency key, whatever the
retries, and allowed below zero like any posting."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from pypdf import PdfReader

from devtools.infra import service_nats_settings
from runtime.calendar import Calendar
from tests.support.stack import ADMIN, SseReader, billing, create_tenant, gateway, running

from .support import documents_available


@asynccontextmanager
async def stack(nats_url, database_url, new_schema, tmp_path=None, *, with_documents: bool = False):
    """Billing and the gateway (and documents, for statements) on real NATS and PostgreSQL."""
    async with AsyncExitStack() as services:
        await services.enter_async_context(running(billing(nats_url, database_url, new_schema("bil"))))
        if with_documents:
            from services.documents.app import build
            from services.documents.config import DocumentsSettings

            settings = DocumentsSettings(
                **service_nats_settings(nats_url, "documents"),
                database_url=database_url,
                db_schema=new_schema("doc"),
                app_env="test",
                port=0,
                documents_store=str(tmp_path / "documents"),
            )
            await services.enter_async_context(running(build(settings)))
        gw = await services.enter_async_context(
            running(gateway(nats_url, database_url, new_schema("gw")), serve_http=True)
        )
        yield await services.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=30))


async def adjust(http, tenant_id: str, amount_cents, reason, *, key: str | None = None, headers=ADMIN):
    key_header = {} if key == "" else {"Idempotency-Key": key or uuid.uuid4().hex}
    return await http.post(
        f"/admin/v1/tenants/{tenant_id}/adjustments",
        json={"amount_cents": amount_cents, "reason": reason},
        headers={**headers, **key_header},
    )


async def balance_of(http, auth) -> int:
    return (await http.get("/v1/balance", headers=auth)).json()["balance_cents"]


async def adjustments_of(http, auth) -> list[dict]:
    items = (await http.get("/v1/transactions", params={"limit": 100}, headers=auth)).json()["items"]
    return [t for t in items if t["kind"] == "adjustment"]


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_an_adjustment_credits_or_debits_with_its_reason_as_the_description(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)

        credit = await adjust(http, tenant_id, 5_000, "Gutschrift für den Ausfall am 3. Dezember")
        assert credit.status_code == 201, credit.text
        body = credit.json()
        assert set(body) == {"id", "transaction_id", "amount_cents", "reason", "created_at"}
        assert (body["amount_cents"], body["reason"]) == (5_000, "Gutschrift für den Ausfall am 3. Dezember")
        assert await balance_of(http, auth) == 5_000

        debit = await adjust(http, tenant_id, -1_250, "Nachbelastung: Gespräche vom 1. Dezember")
        assert debit.status_code == 201, debit.text
        assert debit.json()["amount_cents"] == -1_250
        assert await balance_of(http, auth) == 3_750

        listed = await adjustments_of(http, auth)
        assert [(t["id"], t["amount_cents"], t["balance_after_cents"], t["description"]) for t in listed] == [
            (debit.json()["transaction_id"], -1_250, 3_750, "Nachbelastung: Gespräche vom 1. Dezember"),
            (body["transaction_id"], 5_000, 5_000, "Gutschrift für den Ausfall am 3. Dezember"),
        ]
        assert listed[1]["reference"] == body["id"]


async def test_the_same_key_answers_the_first_adjustment_and_another_body_is_a_conflict(
    nats_url, database_url, new_schema
):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        first = await adjust(http, tenant_id, 2_000, "Kulanz", key="adj-1")
        again = await adjust(http, tenant_id, 2_000, "Kulanz", key="adj-1")
        other_amount = await adjust(http, tenant_id, 3_000, "Kulanz", key="adj-1")
        other_reason = await adjust(http, tenant_id, 2_000, "Kulanz (korrigiert)", key="adj-1")
        no_key = await adjust(http, tenant_id, 2_000, "Kulanz", key="")

        assert first.status_code == 201, first.text
        assert again.status_code == 200 and again.json() == first.json()
        assert error_of(other_amount) == (409, "idempotency_conflict")
        assert error_of(other_reason) == (409, "idempotency_conflict")
        assert error_of(no_key) == (400, "validation_error")
        assert await balance_of(http, auth) == 2_000
        assert len(await adjustments_of(http, auth)) == 1


async def test_bad_adjustments_are_refused_and_change_nothing(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        assert (await adjust(http, tenant_id, 1_000, "Startguthaben")).status_code == 201

        assert error_of(await adjust(http, tenant_id, 0, "nichts")) == (400, "validation_error")
        assert error_of(await adjust(http, tenant_id, 500, "")) == (400, "validation_error")
        assert error_of(await adjust(http, tenant_id, 500, "   ")) == (400, "validation_error")
        assert error_of(await adjust(http, tenant_id, 500, "x" * 501)) == (400, "validation_error")
        assert error_of(await adjust(http, "ten_does_not_exist", 500, "Kulanz")) == (404, "not_found")
        assert await balance_of(http, auth) == 1_000
        assert len(await adjustments_of(http, auth)) == 1


async def test_a_correction_may_take_the_balance_below_zero(nats_url, database_url, new_schema):
    """API.md answers 201 for any signed amount: a correction states what is true, as usage may go below
    zero (docs/architecture.md)."""
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        assert (await adjust(http, tenant_id, 1_000, "Startguthaben")).status_code == 201
        beyond = await adjust(http, tenant_id, -1_250, "Doppelte Gutschrift vom 3.12. storniert")
        assert beyond.status_code == 201, beyond.text
        assert await balance_of(http, auth) == -250
        assert (await adjust(http, tenant_id, -100, "Weitere Korrektur")).status_code == 201
        assert await balance_of(http, auth) == -350


async def test_a_tenants_key_cannot_adjust(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        with_tenant_key = await adjust(http, tenant_id, 100_000, "Selbstbedienung", headers=auth)
        without_token = await adjust(http, tenant_id, 100_000, "Selbstbedienung", headers={})

        assert error_of(with_tenant_key) == (401, "unauthenticated")
        assert error_of(without_token) == (401, "unauthenticated")
        assert await balance_of(http, auth) == 0


async def test_ten_concurrent_retries_of_one_adjustment_move_the_balance_once(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)
        answers = await asyncio.gather(
            *(adjust(http, tenant_id, 4_321, "Gutschrift Störung", key="retried") for _ in range(10))
        )

        assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
        assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
        assert await balance_of(http, auth) == 4_321
        assert len(await adjustments_of(http, auth)) == 1


async def test_an_adjustment_below_the_threshold_streams_like_a_debit(nats_url, database_url, new_schema):
    async with stack(nats_url, database_url, new_schema) as http:
        tenant_id, auth = await create_tenant(http)  # threshold: LOW_BALANCE_THRESHOLD_CENTS, 1000
        assert (await adjust(http, tenant_id, 2_000, "Startguthaben")).status_code == 201

        async with http.stream("GET", "/v1/stream", headers=auth) as stream:
            sse = SseReader(stream)
            assert json.loads((await sse.next())["data"])["balance_cents"] == 2_000
            debit = await adjust(http, tenant_id, -1_500, "Nachbelastung Dezember")
            assert debit.status_code == 201, debit.text

            created = json.loads((await sse.until("transaction.created"))["data"])
            low = json.loads((await sse.until("balance.low"))["data"])
            updated = json.loads((await sse.until("balance.updated"))["data"])

        assert (created["kind"], created["amount_cents"], created["description"]) == (
            "adjustment",
            -1_500,
            "Nachbelastung Dezember",
        )
        assert (low["balance_cents"], low["threshold_cents"]) == (500, 1_000)
        assert (updated["balance_cents"], updated["transaction_id"]) == (500, debit.json()["transaction_id"])


@pytest.mark.skipif(not documents_available(), reason="documents service not built")
async def test_the_monthly_statement_lists_the_adjustment_with_its_reason(nats_url, database_url, new_schema, tmp_path):
    async with stack(nats_url, database_url, new_schema, tmp_path, with_documents=True) as http:
        tenant_id, auth = await create_tenant(http)
        assert (await adjust(http, tenant_id, 2_500, "Gutschrift Ausfall 3.12.")).status_code == 201
        assert (await adjust(http, tenant_id, -700, "Nachbelastung Roaming")).status_code == 201
        month = Calendar().today().strftime("%Y-%m")
        statement = (await http.post("/v1/statements", json={"month": month}, headers=auth)).json()["id"]
        csv_answer = None
        for _ in range(600):
            csv_answer = await http.get(f"/v1/documents/{statement}/csv", headers=auth)
            if csv_answer.status_code != 409:
                break
            await asyncio.sleep(0.1)
        pdf = await http.get(f"/v1/documents/{statement}/pdf", headers=auth)

    assert csv_answer is not None and csv_answer.status_code == 200, csv_answer.text
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig")), delimiter=";"))[1:]
    assert [(r[1], r[2], r[4]) for r in rows if r[1] == "adjustment"] == [
        ("adjustment", "25,00", "Gutschrift Ausfall 3.12."),
        ("adjustment", "-7,00", "Nachbelastung Roaming"),
    ]
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Gutschrift Ausfall 3.12." in text and "Nachbelastung Roaming" in text
