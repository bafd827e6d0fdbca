"""The loopback peers also run in their own thread, for synchronous and subprocess-based tests."""

import smtplib
from pathlib import Path

import httpx

from devtools.smtp_sink import SmtpSink
from devtools.twilio_stub import TwilioStub


def test_twilio_stub_serves_from_its_own_thread() -> None:
    stub = TwilioStub().start_in_thread()
    try:
        response = httpx.post(
            f"{stub.url}/2010-04-01/Accounts/{stub.account_sid}/Messages.json",
            data={"To": "+4915112345678", "From": "+4930123456", "Body": "hi"},
            auth=(stub.account_sid, stub.auth_token),
        )
    finally:
        stub.stop_thread()

    assert response.status_code == 201 and response.json()["sid"].startswith("SM")
    assert [m["body"] for m in stub.messages] == ["hi"]


def test_smtp_sink_saves_eml_files(tmp_path: Path) -> None:
    with SmtpSink(maildir=tmp_path / "mail") as sink, smtplib.SMTP(sink.host, sink.port) as client:
        client.sendmail("a@example.test", ["b@example.test"], b"Subject: hi\r\n\r\nbody\r\n")

    [eml] = (tmp_path / "mail").glob("*.eml")
    assert b"Subject: hi" in eml.read_bytes()
