"""notify mails the gateway's password reset link once per event, to the user, never to the logs.

The event names the reset only; notify asks the gateway for the link (`GetPasswordResetLink`),
played here by a stand-in that knows one reset.
"""

import asyncio
import json
from datetime import timedelta

from contracts.base import utcnow
from contracts.gateway.v1 import GetPasswordResetLink, PasswordResetIssued, PasswordResetLink
from runtime.messaging import error_reply

URL = "http://portal.test/password-reset/new#token=" + "T0k3n_" * 8


async def serve_links(nc, links: dict[str, PasswordResetLink], asked: list[str]):
    """A stand-in for the gateway: the link of a known reset, `not_found` otherwise."""

    async def answer(msg):
        reset_id = json.loads(msg.data)["reset_id"]
        asked.append(reset_id)
        link = links.get(reset_id)
        reply = link.model_dump(mode="json") if link else error_reply("not_found", "no usable password reset")
        await msg.respond(json.dumps(reply).encode())

    return await nc.subscribe(GetPasswordResetLink.subject, cb=answer)


async def publish(stack, event: PasswordResetIssued, msg_id: str) -> None:
    await stack.js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id})


async def test_reset_link_is_fetched_and_mailed_once_per_event_and_not_logged(notify_stack, smtp, tenant_id, capfd):
    async with notify_stack() as stack:
        asked: list[str] = []
        link = PasswordResetLink(
            email="anna@muster.example", reset_url=URL, locale="en", expires_at=utcnow() + timedelta(hours=1)
        )
        await serve_links(stack.nc, {"rst_known": link}, asked)
        event = PasswordResetIssued(tenant_id=tenant_id, reset_id="rst_known")
        await publish(stack, event, event.event_id)
        [mail] = await smtp.wait_for(1, timeout=10)
        assert mail.rcpt_tos == ["anna@muster.example"]
        assert mail.message["Subject"] == "Reset your password"
        assert URL in mail.message.get_body(("plain",)).get_content()
        assert f'href="{URL}"' in mail.message.get_body(("html",)).get_content()

        await publish(stack, event, "another-msg-id")  # a redelivery that JetStream did not de-duplicate
        spent = PasswordResetIssued(tenant_id=tenant_id, reset_id="rst_used_or_expired")
        await publish(stack, spent, spent.event_id)
        await asyncio.sleep(1.5)
        assert len(smtp.messages) == 1
        assert asked == ["rst_known", "rst_used_or_expired"]
    captured = capfd.readouterr()
    assert "notify.password_reset_mailed" in captured.out + captured.err
    assert "T0k3n_" not in captured.out + captured.err
