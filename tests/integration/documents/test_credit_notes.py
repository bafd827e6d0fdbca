from tests.integration.documents.conftest import (
    documents_of,
    fake_billing,
    file_of,
    pdf_text,
    profile,
    publish,
    refund,
    this_year,
    topup,
)
from tests.support.stack import eventually, nats_client, running


async def test_refund_before_its_invoice_waits_then_refers_to_the_invoice(documents_service, nats_url, tenant_id):
    async with running(documents_service()), nats_client(nats_url) as nc, \
            fake_billing(nc, profiles={tenant_id: profile(tenant_id)}):
        js = nc.jetstream()
        topup_id = f"tp_{tenant_id}"
        await publish(js, refund(tenant_id, topup_id, f"re_{tenant_id}", amount_cents=4_000))
        await publish(js, topup(tenant_id, topup_id, amount_cents=10_000))

        [note] = await eventually(lambda: documents_of(nc, tenant_id, "credit_note"), timeout=60)
        [invoice] = await documents_of(nc, tenant_id, "invoice")
        year = this_year()
        assert (invoice.number, note.number) == (f"RE-{year}-000001", f"KR-{year}-000001")
        assert note.total_cents == 4_000
        text = pdf_text(await file_of(nc, tenant_id, note.id, "pdf"))
        assert "Rechnungskorrektur" in text and invoice.number in text and "Gutschrift" not in text
        xml = await file_of(nc, tenant_id, note.id, "xml")
        assert b"<rsm:ExchangedDocument>" in xml and b">381<" in xml and invoice.number.encode() in xml

        # newest first: the credit note leads the list
        assert [d.kind for d in await documents_of(nc, tenant_id)] == ["credit_note", "invoice"]

