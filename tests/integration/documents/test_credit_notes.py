from prometheus_client import REGISTRY

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
from tests.integration.runtime.test_reliability import stream_messages
from tests.support.stack import eventually, nats_client, running


async def test_refund_before_its_invoice_waits_then_refers_to_the_invoice(documents_service, nats_url, tenant_id):
    async with (
        running(documents_service()),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
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

        # newest first: the credit note leads the list (the monthly job may have opened a statement too)
        kinds = [d.kind for d in await documents_of(nc, tenant_id) if d.kind != "statement"]
        assert kinds == ["credit_note", "invoice"]


async def test_a_refund_whose_invoice_comes_after_the_old_retry_budget_is_not_dead_lettered(
    documents_service, nats_url, tenant_id
):
    """The credit note waits for its invoice (PrerequisiteMissing) beyond the five deliveries that used
    to send it to the DLQ; the other refunds of its batch are not held up."""
    retried_before = (
        REGISTRY.get_sample_value(
            "messages_retried_total", {"consumer": "documents-refund-recorded", "kind": "transient"}
        )
        or 0
    )
    async with (
        running(documents_service()),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        js = nc.jetstream()
        late, early = f"tp_late_{tenant_id}", f"tp_early_{tenant_id}"
        await publish(js, topup(tenant_id, early, amount_cents=5_000))
        await eventually(lambda: documents_of(nc, tenant_id, "invoice"), timeout=30)
        await publish(js, refund(tenant_id, late, f"re_late_{tenant_id}", amount_cents=1_000))
        await publish(js, refund(tenant_id, early, f"re_early_{tenant_id}", amount_cents=2_000))

        [note] = await eventually(lambda: documents_of(nc, tenant_id, "credit_note"), timeout=30)
        assert note.total_cents == 2_000  # the refund whose invoice exists is not held up

        def retried() -> float:
            return (
                REGISTRY.get_sample_value(
                    "messages_retried_total", {"consumer": "documents-refund-recorded", "kind": "transient"}
                )
                or 0
            ) - retried_before

        await eventually(lambda: retried() >= 5, timeout=30)
        assert await stream_messages(js, "DLQ", "dlq.>") == []
        await publish(js, topup(tenant_id, late, amount_cents=3_000))
        notes = await eventually(lambda: _when_two(documents_of(nc, tenant_id, "credit_note")), timeout=40)
        assert sorted(n.total_cents for n in notes) == [1_000, 2_000]


async def _when_two(awaitable):
    found = await awaitable
    return found if len(found) == 2 else None
