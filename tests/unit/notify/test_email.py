import uuid

import pytest

from devtools.smtp_sink import SmtpSink, free_port
from devtools.tls import SelfSignedCert
from services.notify.channels.email import Attachment, SmtpSettings, send_event_email
from services.notify.channels.result import Outcome

PDF = b"%PDF-1.7\n% a tiny stand-in\n%%EOF\n"


def settings_for(sink: SmtpSink, **overrides: object) -> SmtpSettings:
    values: dict = {"host": sink.host, "port": sink.port, "mail_from": "Billing <billing@example.test>"}
    return SmtpSettings(**(values | overrides))


@pytest.mark.asyncio
async def test_issued_invoice_arrives_with_text_html_and_pdf() -> None:
    number = f"RE-2025-{uuid.uuid4().hex[:6]}"
    with SmtpSink() as sink:
        result = await send_event_email(
            settings_for(sink),
            to="tenant@example.test",
            event_type="document.issued",
            locale="de",
            data={"id": "doc_1", "kind": "invoice", "number": number},
            recipient_name="Muster GmbH",
            attachments=[Attachment(f"{number}.pdf", PDF)],
        )
        [mail] = await sink.wait_for(1)

    assert result.outcome is Outcome.DELIVERED
    message = mail.message
    assert mail.rcpt_tos == ["tenant@example.test"]
    assert message["Subject"] == f"Neue Rechnung {number}"
    assert message["Message-ID"] == result.provider_id
    assert message["Message-ID"].endswith("@example.test>")
    assert number in message.get_body(("plain",)).get_content()
    assert number in message.get_body(("html",)).get_content()
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"{number}.pdf"
    assert pdf.get_content() == PDF


@pytest.mark.asyncio
async def test_mail_goes_over_starttls_with_login(tls_cert: SelfSignedCert) -> None:
    with SmtpSink(username="relay-user", password="s3cret", tls_cert=tls_cert) as sink:
        settings = settings_for(
            sink, username="relay-user", password="s3cret", starttls=True, ca_file=str(tls_cert.cert_file)
        )
        result = await send_event_email(
            settings,
            to="t@example.test",
            event_type="balance.low",
            locale="en",
            data={"balance_cents": 950, "threshold_cents": 1000},
        )
        [mail] = await sink.wait_for(1)

    assert result.outcome is Outcome.DELIVERED
    assert mail.over_tls and mail.login == "relay-user"
    assert mail.message["Subject"] == "Your balance is low"
    assert "€9.50" in mail.message.get_body(("plain",)).get_content()


@pytest.mark.asyncio
async def test_wrong_smtp_password_is_recorded_as_permanent_failure() -> None:
    with SmtpSink(username="relay-user", password="right") as sink:
        result = await send_event_email(
            settings_for(sink, username="relay-user", password="wrong"),
            to="t@example.test",
            event_type="balance.depleted",
            locale="de",
            data={"balance_cents": 0},
        )
        assert sink.messages == []
        assert set(sink.failed_logins) == {"relay-user"}

    assert result.outcome is Outcome.FAILED
    assert "535" in (result.error or "")


@pytest.mark.asyncio
async def test_sending_without_login_to_a_server_that_requires_it_fails() -> None:
    with SmtpSink(username="relay-user", password="right") as sink:
        result = await send_event_email(
            settings_for(sink),
            to="t@example.test",
            event_type="balance.depleted",
            locale="de",
            data={"balance_cents": 0},
        )
        assert sink.messages == []

    assert result.outcome is Outcome.FAILED


@pytest.mark.asyncio
async def test_untrusted_certificate_is_not_accepted(tls_cert: SelfSignedCert) -> None:
    with SmtpSink(tls_cert=tls_cert) as sink:
        result = await send_event_email(
            settings_for(sink, starttls=True),
            to="t@example.test",
            event_type="topup.failed",
            locale="en",
            data={"amount_cents": 5000, "reason": "card declined"},
        )
        assert sink.messages == []

    assert result.outcome is not Outcome.DELIVERED


@pytest.mark.asyncio
async def test_unreachable_smtp_server_is_retried_later() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), mail_from="b@example.test", timeout_s=2)
    result = await send_event_email(settings, to="t@example.test", event_type="balance.low", locale="en", data={})

    assert result.outcome is Outcome.RETRY
    assert result.error


@pytest.mark.asyncio
async def test_starttls_demanded_but_not_offered_is_a_permanent_failure() -> None:
    with SmtpSink() as sink:
        result = await send_event_email(
            settings_for(sink, starttls=True),
            to="t@example.test",
            event_type="balance.low",
            locale="en",
            data={},
        )
        assert sink.messages == []

    assert result.outcome is Outcome.FAILED
    assert "STARTTLS" in (result.error or "")
