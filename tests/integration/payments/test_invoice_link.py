"""`GET /v1/topups/{id}` reports `invoice_id` once documents issued the top-up's invoice (DocumentIssued)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.billing.v1 import AccountProfile, AccountUpdated, Address
from contracts.documents.v1 import DocumentIssued, ListDocuments
from devtools.infra import service_nats_settings
from runtime.messaging import request
from services.documents.app import build as build_documents
from services.documents.config import DocumentsSettings
from services.payments.app import build as build_payments
from tests.support.stack import billing, eventually, running

from .helpers import create_topup, pay, topup, wait_status


async def publish(js, event, *, msg_id: str | None = None) -> None:
    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or event.event_id})


def issued(
    tenant_id: str,
    *,
    topup_id: str | None,
    kind: str = "invoice",
    document_id: str | None = None,
    number: str = "RE-2026-000001",
) -> DocumentIssued:
    return DocumentIssued(
        tenant_id=tenant_id,
        document_id=document_id or f"doc_{uuid.uuid4().hex}",
        kind=kind,
        number=number,
        total_cents=10_000,
        topup_id=topup_id,
        issued_at=datetime.now(UTC),
    )


async def invoice_of(nc, tenant_id: str, topup_id: str) -> str | None:
    return (await topup(nc, tenant_id, topup_id)).invoice_id


async def test_paid_topup_reports_the_invoice_documents_issued_for_it(
    payments, nc, stripe_emulator, nats_url, database_url, new_schema, tenant_id, tmp_path
):
    documents = build_documents(
        DocumentsSettings(
            **service_nats_settings(nats_url, "documents"),
            database_url=database_url,
            db_schema=new_schema("doc"),
            app_env="test",
            port=0,
            documents_store=str(tmp_path / "documents"),
        )
    )
    async with running(billing(nats_url, database_url, new_schema("bil"))), running(documents):
        js = nc.jetstream()
        await publish(
            js,
            AccountUpdated(
                tenant_id=tenant_id,
                profile=AccountProfile(
                    tenant_id=tenant_id,
                    name="Muster Telefonie GmbH",
                    email="buchhaltung@muster.example",
                    country="DE",
                    address=Address(line1="Hauptstraße 1", postal_code="10115", city="Berlin"),
                ),
            ),
        )
        view = (await create_topup(nc, tenant_id, amount_cents=10_000)).topup
        assert view.invoice_id is None

        await pay(stripe_emulator, view, payment_method="pm_card_visa")
        await wait_status(nc, tenant_id, view.id, "succeeded")

        invoice_id = await eventually(lambda: invoice_of(nc, tenant_id, view.id), timeout=30)
        invoices = (await request(nc, ListDocuments(tenant_id=tenant_id, kind="invoice"))).items
        assert [d.id for d in invoices] == [invoice_id]
        assert (await topup(nc, tenant_id, view.id)).status == "succeeded"


async def test_only_the_first_invoice_for_the_tenants_topup_is_linked(payments, nc, tenant_id):
    """Duplicates, credit notes, statements and foreign tenants' events never change the link."""
    view = (await create_topup(nc, tenant_id)).topup
    other = (await create_topup(nc, tenant_id)).topup
    js = nc.jetstream()

    await publish(js, issued(tenant_id, topup_id=view.id, kind="credit_note", number="GS-2026-000001"))
    await publish(js, issued(tenant_id, topup_id=None, kind="statement", number="KA-2026-000001"))
    await publish(js, issued(f"ten_{uuid.uuid4().hex[:16]}", topup_id=view.id))
    first = issued(tenant_id, topup_id=view.id)
    await publish(js, first)
    assert await eventually(lambda: invoice_of(nc, tenant_id, view.id)) == first.document_id

    await publish(js, first, msg_id=f"{first.event_id}-again")  # past JetStream's de-duplication
    await publish(js, issued(tenant_id, topup_id=view.id, number="RE-2026-000002"))
    marker = issued(tenant_id, topup_id=other.id, number="RE-2026-000003")
    await publish(js, marker)
    assert await eventually(lambda: invoice_of(nc, tenant_id, other.id)) == marker.document_id

    assert await invoice_of(nc, tenant_id, view.id) == first.document_id


async def test_an_invoice_issued_while_payments_is_down_is_linked_when_it_is_back(payments, nc, tenant_id):
    """The event waits in JetStream for the durable consumer: a payments started later links it."""
    view = (await create_topup(nc, tenant_id)).topup
    await payments.stop()
    event = issued(tenant_id, topup_id=view.id)
    await publish(nc.jetstream(), event)
    async with running(build_payments(payments.settings)):
        assert await eventually(lambda: invoice_of(nc, tenant_id, view.id)) == event.document_id
