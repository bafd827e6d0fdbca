import json
from datetime import UTC, datetime

from contracts.documents.v1 import CreditedTopup, GetDocumentFile, ReconcileDocuments
from runtime.messaging import ServiceError, request
from tests.integration.documents.conftest import (
    attachments,
    documents_of,
    fake_billing,
    file_of,
    pdf_text,
    profile,
    publish,
    publish_profile,
    this_year,
    topup,
)
from tests.support.stack import eventually, nats_client, running


async def test_credited_topup_is_invoiced_with_pdf_xml_and_a_portal_event(documents_service, nats_url, tenant_id):
    async with running(documents_service()), nats_client(nats_url) as nc:
        js = nc.jetstream()
        portal = await js.subscribe("portal.document.issued.v1", stream="PORTAL")
        await publish_profile(js, tenant_id, name="Muster Telefonie GmbH")
        await publish(js, topup(tenant_id, f"tp_{tenant_id}", amount_cents=11_900, bonus_cents=500))

        [invoice] = await eventually(lambda: documents_of(nc, tenant_id, "invoice"), timeout=20)
        assert invoice.number == f"RE-{this_year()}-000001"
        assert invoice.total_cents == 11_900 and invoice.status == "issued"
        pdf = await file_of(nc, tenant_id, invoice.id, "pdf")
        xml = await file_of(nc, tenant_id, invoice.id, "xml")
        assert pdf.startswith(b"%PDF") and attachments(pdf)["factur-x.xml"] == [xml]
        assert invoice.number in pdf_text(pdf) and "Muster Telefonie GmbH" in pdf_text(pdf)
        assert invoice.number.encode() in xml and b"119.00" in xml and b"Muster Telefonie GmbH" in xml

        event = json.loads((await portal.next_msg(timeout=10)).data)
        assert event["type"] == "document.issued"
        assert event["data"] == {"id": invoice.id, "kind": "invoice", "number": invoice.number}
        await portal.unsubscribe()


async def test_duplicate_topup_credited_issues_one_invoice(documents_service, nats_url, tenant_id):
    async with running(documents_service()), nats_client(nats_url) as nc:
        js = nc.jetstream()
        await publish_profile(js, tenant_id)
        credited = topup(tenant_id, f"tp_{tenant_id}")
        for copy in range(3):  # distinct message ids defeat JetStream's de-duplication
            await publish(js, credited, msg_id=f"{credited.event_id}-{copy}")
        await publish(js, topup(tenant_id, f"marker_{tenant_id}"))

        # invoices only: the monthly job may open last month's statement for the tenant meanwhile
        await eventually(lambda: _count(documents_of(nc, tenant_id, "invoice"), 2), timeout=20)
        invoices = await documents_of(nc, tenant_id, "invoice")
        assert sorted(d.number for d in invoices) == [f"RE-{this_year()}-00000{i}" for i in (1, 2)]


async def test_another_tenants_document_is_not_found(documents_service, nats_url, tenant_id):
    async with running(documents_service()), nats_client(nats_url) as nc:
        js = nc.jetstream()
        await publish_profile(js, tenant_id)
        await publish(js, topup(tenant_id, f"tp_{tenant_id}"))
        [invoice] = await eventually(lambda: documents_of(nc, tenant_id, "invoice"), timeout=20)

        for who, document_id in (("ten_intruder", invoice.id), (tenant_id, "doc_unknown")):
            try:
                await request(nc, GetDocumentFile(tenant_id=who, document_id=document_id, format="pdf"))
            except ServiceError as exc:
                assert exc.code == "not_found"
            else:
                raise AssertionError(f"{who} got {document_id}")
        assert await documents_of(nc, "ten_intruder") == []


async def _count(awaitable, expected: int) -> bool:
    return len(await awaitable) >= expected


async def test_reconciling_issues_the_invoice_a_credited_topup_lacks_once(documents_service, nats_url, tenant_id):
    """What payments' reconciler asks when a TopupCredited never arrived: the invoice is issued from the
    facts it passes, once, however often it asks."""
    credit = CreditedTopup(
        tenant_id=tenant_id,
        topup_id=f"tp_{tenant_id}",
        amount_cents=10_000,
        bonus_cents=500,
        payment_reference="pi_lost",
        paid_at=datetime.now(UTC),
        transaction_id="txn_x",
    )
    async with (
        running(documents_service()),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        first = await request(nc, ReconcileDocuments(credits=[credit]), timeout=30)
        again = await request(nc, ReconcileDocuments(credits=[credit]), timeout=30)
        invoices = await documents_of(nc, tenant_id, "invoice")
    assert first.missing_invoices == [credit.topup_id] and len(first.issued) == 1
    assert again.missing_invoices == [] and again.issued == []
    assert [d.number for d in invoices] == first.issued
