"""Bad input gets a clear 4xx in the error schema, and changes nothing."""

from tests.support.stack import create_tenant

TOPUP = {"Idempotency-Key": "k-1"}


def assert_refused(response, status: int = 422) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


async def test_malformed_mistyped_unknown_and_out_of_range_bodies(stack):
    async with stack() as s:
        _, auth = await create_tenant(s.http)
        before = (await s.http.get("/v1/account", headers=auth)).json()
        json_headers = {**auth, "Content-Type": "application/json"}
        for raw in (b"{", b"not json", b"[1, 2]", b'{"name": }', b"\xff\xfe"):
            assert_refused(await s.http.patch("/v1/account", content=raw, headers=json_headers))
        for body in (
            {"name": 5},
            {"name": ""},
            {"email": "no-at-sign"},
            {"low_balance_threshold_cents": -1},
            {"low_balance_threshold_cents": "100"},
            {"low_balance_threshold_cents": 10.5},
            {"low_balance_threshold_cents": True},
            {"low_balance_threshold_cents": 10**15},
            {"locale": "fr"},
            {"is_admin": True},
            {"address": {"line1": "x", "planet": "Mars"}},
            {"email": "u@fs\u009e.de\u0000"},
            {"name": "Nul\u0000GmbH"},
            {"vat_id": "DE1\u0007"},
            {"address": {"city": "Ber\nlin"}},
        ):  # control characters (PostgreSQL cannot store NUL)
            assert_refused(await s.http.patch("/v1/account", json=body, headers=auth))
        assert (await s.http.get("/v1/account", headers=auth)).json() == before

        for body in (
            {"amount_cents": -500},
            {"amount_cents": 0},
            {"amount_cents": "1000"},
            {"amount_cents": 99.5},
            {"amount_cents": 10**12},
            {},
            {"amount_cents": 1000, "currency": "USD"},
        ):
            assert_refused(await s.http.post("/v1/topups", json=body, headers={**auth, **TOPUP}))
        assert_refused(await s.http.post("/v1/topups", json={"amount_cents": 1000}, headers=auth), 400)

        auto_before = (await s.http.get("/v1/auto-topup", headers=auth)).json()
        for body in (
            {"enabled": "yes", "threshold_cents": 0, "amount_cents": 1000, "monthly_limit_cents": 0},
            {"enabled": False, "threshold_cents": -1, "amount_cents": 1000, "monthly_limit_cents": 0},
            {"enabled": False, "threshold_cents": 0, "amount_cents": 0, "monthly_limit_cents": 0},
        ):
            assert_refused(await s.http.put("/v1/auto-topup", json=body, headers=auth))
        assert (await s.http.get("/v1/auto-topup", headers=auth)).json() == auto_before

        for query in ("limit=0", "limit=abc", "limit=100000", "kind=gift", "cursor=" + "x" * 500):
            assert_refused(await s.http.get(f"/v1/transactions?{query}", headers=auth))
        assert_refused(await s.http.post("/v1/statements", json={"month": "2026-13"}, headers=auth))
        assert_refused(await s.http.get("/v1/stream", headers={**auth, "Last-Event-ID": "abc"}), 400)


async def test_oversize_bodies_are_refused_before_they_are_read(stack):
    async with stack(max_body_bytes=4096) as s:
        _, auth = await create_tenant(s.http)
        before = (await s.http.get("/v1/account", headers=auth)).json()
        big = {"name": "x" * 5000}
        assert_refused(await s.http.patch("/v1/account", json=big, headers=auth), 413)

        async def chunks():  # no Content-Length: counted while streaming
            yield b'{"name": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        assert_refused(
            await s.http.patch("/v1/account", content=chunks(), headers={**auth, "Content-Type": "application/json"}),
            413,
        )
        assert (await s.http.get("/v1/account", headers=auth)).json() == before
