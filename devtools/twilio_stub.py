"""A local stand-in for Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json).

Checks basic auth and the `To` number like Twilio does and answers in Twilio's JSON shapes.
`stub.fail_next(503)` makes the next request fail, `stub.delay_s` slows every answer down.
`python -m devtools.twilio_stub --port 9000` runs it as the SMS stand-in of `make run`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import secrets
from email.utils import formatdate

from aiohttp import web

from devtools.http_peer import HttpPeer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


def twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


class TwilioStub(HttpPeer):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, str]] = []
        self.delay_s = 0.0
        self._failures: list[int] = []

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self._failures.extend([status] * times)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(MESSAGES_PATH, self._create_message)]

    async def _create_message(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        if self._failures:
            return twilio_error(self._failures.pop(0), 20500, "Internal Server Error")
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        form = await request.post()
        to, sender, body = (str(form.get(key, "")) for key in ("To", "From", "Body"))
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        message = self._message(to, sender, body)
        self.messages.append(message)
        return web.json_response(message, status=201)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = (self.account_sid, self.auth_token, self.account_sid)
        return scheme.lower() == "basic" and (login, password, request.match_info["sid"]) == expected

    def _message(self, to: str, sender: str, body: str) -> dict[str, str]:
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        return {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": body,
            "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
            "num_segments": "1", "num_media": "0", "date_created": now, "date_updated": now,
            "date_sent": None, "error_code": None, "error_message": None, "price": None,
            "price_unit": "USD", "messaging_service_sid": None, "subresource_uris": {},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Twilio Messages API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="test-token")
    args = parser.parse_args()

    async def serve() -> None:
        stub = await TwilioStub(args.account_sid, args.auth_token).start(args.host, args.port)
        print(f"Twilio stand-in on {stub.url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await stub.stop()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
