"""Tenant isolation: every customer route, walked by tenant B with tenant A's ids, leaks nothing.

A creates one of everything (a debit, a profile change, a top-up, a card, a statement, a webhook
endpoint, preferences); B then calls every route: foreign ids answer 404, lists and figures show
only B's own, and B's writes (even with A's idempotency key) never touch A. The last assertion
proves the walk covered every customer route the gateway serves.
"""

import json

from fastapi.routing import APIRoute

from tests.support.stack import SseReader, create_tenant, eventually, publish_usage

SERVICES = ("notify", "documents", "payments")


async def test_tenant_b_cannot_see_or_touch_anything_of_tenant_a(stack, stripe_emulator):
    walked: set[tuple[str, str]] = set()

    async def call(method: str, route: str, path: str | None = None, *, headers, **kw):
        walked.add((method, route))
        return await s.http.request(method, path or route, headers=headers, **kw)

    async with stack(*SERVICES) as s:
        a_id, a = await create_tenant(s.http, name="Alpha GmbH")
        b_id, b = await create_tenant(s.http, name="Beta GmbH")
        await publish_usage(s.js, usage_id=f"{a_id}-1", tenant_id=a_id, amount_cents=4200)
        await eventually(lambda: _balance(s, a, -4200))
        topup = await s.http.post("/v1/topups", json={"amount_cents": 5000}, headers={**a, "Idempotency-Key": "same"})
        assert topup.status_code == 201, topup.text
        card = await s.http.post(
            "/v1/payment-methods",
            headers=a,
            json={"payment_method_id": stripe_emulator.create_card("4242424242424242")},
        )
        assert card.status_code == 201, card.text
        document = await s.http.post("/v1/statements", json={"month": "2026-01"}, headers=a)
        assert document.status_code == 202, document.text
        hook = await s.http.post(
            "/v1/webhook-endpoints",
            headers=a,
            json={"url": "https://hooks.alpha.example/in", "events": ["balance.low"]},
        )
        assert hook.status_code == 201, hook.text
        prefs = await s.http.put("/v1/notification-preferences", json={"balance.low": ["sms"]}, headers=a)
        assert prefs.status_code == 200, prefs.text
        topup_id, card_id, doc_id, hook_id = (
            topup.json()["id"],
            card.json()["id"],
            document.json()["id"],
            hook.json()["id"],
        )

        foreign = [
            ("GET", "/v1/topups/{topup_id}", f"/v1/topups/{topup_id}"),
            ("POST", "/v1/payment-methods/{payment_method_id}/default", f"/v1/payment-methods/{card_id}/default"),
            ("DELETE", "/v1/payment-methods/{payment_method_id}", f"/v1/payment-methods/{card_id}"),
            ("GET", "/v1/documents/{document_id}/pdf", f"/v1/documents/{doc_id}/pdf"),
            ("GET", "/v1/documents/{document_id}/xml", f"/v1/documents/{doc_id}/xml"),
            ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", f"/v1/webhook-endpoints/{hook_id}/deliveries"),
            (
                "POST",
                "/v1/webhook-endpoints/{endpoint_id}/deliveries/{webhook_id}/replay",
                f"/v1/webhook-endpoints/{hook_id}/deliveries/msg_x/replay",
            ),
            ("DELETE", "/v1/webhook-endpoints/{endpoint_id}", f"/v1/webhook-endpoints/{hook_id}"),
        ]
        for method, route, path in foreign:
            response = await call(method, route, path, headers=b)
            assert response.status_code == 404, (route, response.status_code, response.text)
            assert response.json()["error"]["code"] == "not_found"

        account = (await call("GET", "/v1/account", headers=b)).json()
        assert account["id"] == b_id and account["name"] == "Beta GmbH"
        assert (await call("GET", "/v1/balance", headers=b)).json()["balance_cents"] == 0
        assert (await call("GET", "/v1/transactions", headers=b)).json()["items"] == []
        board = (await call("GET", "/v1/dashboard", headers=b)).json()
        assert board["usage_30d_cents"] == 0 and board["balance_cents"] == 0
        assert doc_id not in str((await call("GET", "/v1/documents", headers=b)).json())
        assert card_id not in str((await call("GET", "/v1/payment-methods", headers=b)).json())
        assert hook_id not in str((await call("GET", "/v1/webhook-endpoints", headers=b)).json())
        assert (await call("GET", "/v1/notification-preferences", headers=b)).json()["balance.low"] != ["sms"]
        assert (await call("GET", "/v1/auto-topup", headers=b)).status_code == 200
        async with s.http.stream("GET", "/v1/stream", headers=b) as response:
            walked.add(("GET", "/v1/stream"))
            assert json.loads((await SseReader(response).next())["data"])["balance_cents"] == 0

        own_topup = await call(
            "POST", "/v1/topups", headers={**b, "Idempotency-Key": "same"}, json={"amount_cents": 5000}
        )
        assert own_topup.status_code == 201 and own_topup.json()["id"] != topup_id
        auto = {"enabled": False, "threshold_cents": 0, "amount_cents": 2000, "monthly_limit_cents": 0}
        push = {"endpoint": "https://push.beta.example/x", "keys": {"p256dh": _P256DH, "auth": "dGVzdGF1dGhzZWNyZXQ"}}
        card_b = stripe_emulator.create_card("5555555555554444")
        writes = [
            ("PATCH", "/v1/account", {"name": "Beta Neu"}),
            ("PUT", "/v1/notification-preferences", {"balance.low": ["email"]}),
            ("PUT", "/v1/auto-topup", auto),
            ("POST", "/v1/statements", {"month": "2026-01"}),
            ("POST", "/v1/webhook-endpoints", {"url": "https://b.example/in", "events": ["balance.low"]}),
            ("POST", "/v1/push-subscriptions", push),
            ("POST", "/v1/payment-methods", {"payment_method_id": card_b}),
            ("POST", "/v1/payment-methods/setup", None),
        ]
        for method, route, body in writes:
            response = await call(method, route, headers=b, json=body)
            assert response.status_code < 300, (route, response.status_code, response.text)

        assert (await s.http.get("/v1/account", headers=a)).json()["name"] == "Alpha GmbH"
        assert (await s.http.get(f"/v1/topups/{topup_id}", headers=a)).status_code == 200
        assert card_id in str((await s.http.get("/v1/payment-methods", headers=a)).json())
        assert [h["id"] for h in (await s.http.get("/v1/webhook-endpoints", headers=a)).json()["items"]] == [hook_id]
        assert (await s.http.get("/v1/notification-preferences", headers=a)).json()["balance.low"] == ["sms"]
        assert (await s.http.get("/v1/balance", headers=a)).json()["balance_cents"] == -4200

    served = {
        (m, r.path)
        for r in s.gateway.http_app.routes
        if isinstance(r, APIRoute) and r.path.startswith("/v1/")
        for m in r.methods
    }
    assert served - walked == set(), "routes the walk did not cover"


async def _balance(s, auth, cents: int) -> bool:
    return (await s.http.get("/v1/balance", headers=auth)).json()["balance_cents"] == cents


_P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
