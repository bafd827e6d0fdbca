"""A customer-visible event on NATS reaches the customer by email, SMS and web push."""

import asyncio

from contracts.notify.v1 import AddPushSubscription, UpdatePreferences
from tests.integration.notify.conftest import contact_known, portal_event, serve_documents
from tests.support.stack import eventually

PDF = b"%PDF-1.7\n% a tiny invoice\n%%EOF\n"


async def test_issued_invoice_is_emailed_with_its_pdf(notify_stack, smtp, tenant_id):
    async with notify_stack() as stack:
        asked: list = []
        await serve_documents(stack.nc, PDF, asked=asked)
        await stack.profile(tenant_id, email="buchhaltung@example.com", locale="en")
        await contact_known(stack, tenant_id)
        await stack.publish(
            portal_event(tenant_id, "document.issued", id="doc_1", kind="invoice", number="RE-2026-000042")
        )
        [mail] = await smtp.wait_for(1)
        message = mail.message
        assert mail.rcpt_tos == ["buchhaltung@example.com"]
        assert "RE-2026-000042" in message["Subject"]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == PDF
        assert asked == [{"tenant_id": tenant_id, "document_id": "doc_1", "format": "pdf"}]


async def test_invoice_email_waits_for_the_documents_service_instead_of_dropping(notify_stack, smtp, tenant_id):
    async with notify_stack() as stack:
        await stack.profile(tenant_id)
        await contact_known(stack, tenant_id)
        await stack.publish(portal_event(tenant_id, "document.issued", id="doc_2", kind="invoice", number="RE-7"))
        await asyncio.sleep(1.5)  # documents does not answer yet
        assert smtp.messages == []
        await serve_documents(stack.nc, PDF)
        [mail] = await smtp.wait_for(1, timeout=10)
        assert [a.get_content() for a in mail.message.iter_attachments()] == [PDF]


async def test_depleted_balance_is_sent_by_email_sms_and_push(notify_stack, smtp, twilio, push_service, tenant_id):
    async with notify_stack() as stack:
        await stack.profile(tenant_id, phone="+4915199999999", locale="de")
        subscription = push_service.subscribe()
        await stack.ask(AddPushSubscription(tenant_id=tenant_id, **subscription))
        await contact_known(stack, tenant_id)
        await stack.publish(portal_event(tenant_id, "balance.depleted", balance_cents=-120, threshold_cents=1000))
        await eventually(lambda: twilio.messages and push_service.received and smtp.messages)
        [sms] = twilio.messages
        assert sms["to"] == "+4915199999999"
        assert sms["from"] == stack.service.settings.twilio_from
        [push] = push_service.received
        assert push.json["type"] == "balance.depleted"
        assert push.json["title"]
        assert push.urgency == "high"
        assert smtp.messages[0].rcpt_tos == ["kunde@example.com"]


async def test_the_same_event_delivered_twice_sends_one_email(notify_stack, smtp, tenant_id):
    async with notify_stack() as stack:
        await stack.profile(tenant_id)
        await contact_known(stack, tenant_id)
        event = portal_event(tenant_id, "balance.low", balance_cents=900, threshold_cents=1000)
        # distinct Nats-Msg-Ids defeat JetStream's de-duplication: notify alone must hold
        await stack.publish(event, msg_id="copy-1")
        await stack.publish(event, msg_id="copy-2")
        await smtp.wait_for(1)
        await asyncio.sleep(0.5)
        assert len(smtp.messages) == 1


async def test_a_push_subscription_the_push_service_calls_gone_is_removed(notify_stack, push_service, tenant_id):
    from services.notify.tables import PushSubscriptionRow

    async with notify_stack() as stack:
        subscription = push_service.subscribe()
        sub_id = (await stack.ask(AddPushSubscription(tenant_id=tenant_id, **subscription))).id
        push_service.answer_status = 410
        await stack.publish(
            portal_event(tenant_id, "topup.succeeded", topup_id="tp_1", amount_cents=5000, bonus_cents=0)
        )

        async def removed():
            async with stack.service.db.sessions() as session:
                return await session.get(PushSubscriptionRow, sub_id) is None

        await eventually(removed)


async def test_an_email_for_a_tenant_whose_profile_arrives_later_is_still_sent(notify_stack, smtp, tenant_id):
    async with notify_stack(notify_retry_schedule="0.3,0.3,0.3,0.3,0.3") as stack:
        await stack.publish(portal_event(tenant_id, "autotopup.failed", reason="card_declined"))
        await asyncio.sleep(0.3)
        await stack.profile(tenant_id, email="spaet@example.com")
        [mail] = await smtp.wait_for(1, timeout=10)
        assert mail.rcpt_tos == ["spaet@example.com"]


async def test_the_monthly_statement_is_emailed_with_its_pdf_unless_documents_are_switched_off(
    notify_stack, smtp, tenant_id
):
    """A statement is a `document.issued` like an invoice: mailed by default with its PDF; the tenant's
    `document.issued: []` stops it (and every other document mail)."""
    async with notify_stack() as stack:
        await serve_documents(stack.nc, PDF)
        await stack.profile(tenant_id, email="buchhaltung@example.com")
        await contact_known(stack, tenant_id)
        await stack.publish(
            portal_event(tenant_id, "document.issued", id="doc_s1", kind="statement", number="KA-2026-000011")
        )
        [mail] = await smtp.wait_for(1)
        assert "KA-2026-000011" in mail.message["Subject"]
        assert [a.get_content() for a in mail.message.iter_attachments()] == [PDF]

        await stack.ask(UpdatePreferences(tenant_id=tenant_id, preferences={"document.issued": []}))
        await stack.publish(
            portal_event(tenant_id, "document.issued", id="doc_s2", kind="statement", number="KA-2026-000012")
        )
        await asyncio.sleep(1.5)
    assert len(smtp.messages) == 1
