"""Per-IP limits key on the real client: X-Forwarded-For is believed from TRUSTED_PROXIES only.

Before the fix, uvicorn believed the header from any loopback peer (so a local client chose its own
bucket with a spoofed header) and from nobody else (so behind the ingress every anonymous client
shared the ingress's bucket: one attacker could lock everyone out of /login).
"""

import httpx
import pytest
from pydantic import ValidationError

from services.gateway.config import GatewaySettings
from tests.security.conftest import fresh_window

WRONG_KEY = {"Authorization": "Bearer ppk_wrong_key_0000000000"}


async def _statuses(client: httpx.AsyncClient, forwarded_for: list[str]) -> list[int]:
    return [
        (await client.get("/v1/balance", headers={**WRONG_KEY, "X-Forwarded-For": value})).status_code
        for value in forwarded_for
    ]


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(stack):
    async with stack(rate_limit_per_minute=3, with_billing=False) as s:  # TRUSTED_PROXIES unset
        await fresh_window()
        spoofed = [f"198.51.100.{n}" for n in range(5)]  # a new "client" for every request
        assert await _statuses(s.http, spoofed) == [401, 401, 401, 429, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(stack):
    async with stack(rate_limit_per_minute=3, with_billing=False, trusted_proxies="10.0.0.0/8") as s:
        app = s.gateway.http_app
        ingress = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.3.7", 40000)), base_url="http://gateway"
        )
        async with ingress:
            await fresh_window()
            # The attacker's own header value comes first; the ingress (and a second proxy) append.
            attacker = await _statuses(ingress, [f"6.6.6.{n}, 203.0.113.66, 10.0.9.9" for n in range(4)])
            victim = await _statuses(ingress, ["203.0.113.7"])
        assert attacker == [401, 401, 401, 429]  # the right-most untrusted hop is the client
        assert victim == [401]  # not locked out by the attacker


@pytest.mark.parametrize("value", ["*", "0.0.0.0/0", "::/0", "10.0.0.0/8, 0.0.0.0/0", "not-a-network"])
def test_trusting_everyone_or_nonsense_is_refused(value):
    with pytest.raises(ValidationError):
        GatewaySettings(trusted_proxies=value)
