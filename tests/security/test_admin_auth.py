"""The admin token: a bad one is refused plainly, and guessing it is rate limited per client.

Before the fix a token with a non-ASCII character made `hmac.compare_digest` raise on str (500),
and failed admin authentication was never limited (the admin token is exempt from the API limit).
"""

import httpx

from tests.security.conftest import fresh_window
from tests.support.stack import ADMIN


async def test_a_non_ascii_admin_token_is_refused_not_an_error(stack):
    async with stack(with_billing=False) as s:
        non_ascii = {"Authorization": "Bearer tökén-ä".encode()}  # as UTF-8 bytes on the wire
        answer = await s.http.get("/admin/v1/tenants/nope/api-keys", headers=non_ascii)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthenticated"


async def test_failed_admin_authentication_is_limited_per_client(stack):
    async with stack(with_billing=False, admin_auth_failures_per_minute=3) as s:
        app = s.gateway.http_app

        def client_at(address: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(address, 4711)), base_url="http://gateway"
            )

        async with client_at("198.51.100.20") as guesser, client_at("198.51.100.21") as operator:
            await fresh_window()
            guesses = [
                (
                    await guesser.get("/admin/v1/tenants/nope/api-keys", headers={"Authorization": f"Bearer guess-{n}"})
                ).status_code
                for n in range(5)
            ]
            assert guesses == [401, 401, 401, 429, 429]
            locked = await guesser.get("/admin/v1/tenants/nope/api-keys", headers=ADMIN)
            assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1  # even the right token
            assert (await operator.get("/admin/v1/tenants/nope/api-keys", headers=ADMIN)).status_code == 404
