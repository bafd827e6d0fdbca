"""The operator console `/ops` through the gateway, with billing, payments (the Stripe emulator) and
documents for real: its own login with the admin token, a strict session cookie that opens nothing
else, CSRF on every POST, and each action — adjust, grant, void, refund — through its confirmation,
once per rendered form, visible on the tenant's page."""

from __future__ import annotations

import asyncio
import html
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from markupsafe import escape as _escape

from services.gateway.ops import sessions as ops_sessions
from services.gateway.tables import OpsSession
from tests.support.stack import ADMIN, eventually, payments, running

from .ops_support import OPS_COOKIE, confirmed, console, flash_after, flash_key, form, log_in, submit
from .support import (
    WEBHOOK_SECRET,
    documents_available,
    fund,
    new_customer,
    open_stack,
    transactions,
    wait_balance,
    wait_topup,
)

SCRIPT = "<script>alert(1)</script>"


def escape(text: str) -> str:
    """As the console's templates write tenant- and operator-supplied text (Jinja's autoescape)."""
    return str(_escape(text))


@pytest.fixture
def stack_parts(nats_url, database_url, new_schema, e2e_stripe, tmp_path) -> dict:
    """What `open_stack` runs on: this test's NATS, schemas, Stripe emulator and files."""
    return {
        "nats_url": nats_url,
        "database_url": database_url,
        "new_schema": new_schema,
        "emulator": e2e_stripe,
        "tmp_path": tmp_path,
    }


@pytest.fixture
async def stack(stack_parts):
    async with open_stack(**stack_parts, with_documents=documents_available()) as s:
        yield s


@pytest.fixture
async def ops(stack):
    async with console(str(stack.http.base_url)) as client:
        yield client


async def logged_in(ops) -> None:
    response = await log_in(ops)
    assert response.status_code == 303 and response.headers["location"] == "/ops", response.text


async def tenant_page(ops, tenant_id: str) -> str:
    page = await ops.get(f"/ops/tenants/{tenant_id}")
    assert page.status_code == 200, page.text
    return page.text


async def sessions_in_db(stack) -> int:
    async with stack.gateway.db.sessions() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(OpsSession))).scalar_one()


async def test_the_admin_token_opens_a_strict_session_that_opens_nothing_else(stack, ops):
    assert (await ops.get("/ops")).headers["location"] == "/ops/login"
    login = await ops.get("/ops/login")
    assert "test-admin-token" not in login.text
    [nonce_cookie] = [c.lower() for c in login.headers.get_list("set-cookie") if c.startswith("pp_ops_login_csrf=")]
    assert "path=/ops/login" in nonce_cookie and "httponly" in nonce_cookie and "samesite=strict" in nonce_cookie

    wrong = await log_in(ops, token="not-the-token")
    assert wrong.status_code == 401 and OPS_COOKIE not in ops.cookies and await sessions_in_db(stack) == 0
    assert "not-the-token" not in wrong.text
    no_form_token = await ops.post("/ops/login", data={"token": "test-admin-token"})
    assert no_form_token.status_code == 403 and OPS_COOKIE not in ops.cookies

    opened = await log_in(ops)
    assert opened.status_code == 303 and opened.headers["location"] == "/ops"
    [session_cookie] = [c for c in opened.headers.get_list("set-cookie") if c.startswith(OPS_COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in session_cookie.split(";")}
    assert OPS_COOKIE in attributes and "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict" and attributes["path"] == "Path=/"
    assert attributes["max-age"] == "Max-Age=28800"
    assert "test-admin-token" not in opened.headers["location"] and await sessions_in_db(stack) == 1
    overview = await ops.get("/ops")
    assert overview.status_code == 200 and "test-admin-token" not in overview.text
    assert (await ops.get("/ops/login")).headers["location"] == "/ops"
    english = await ops.get("/ops", params={"lang": "en"})
    assert "Sorted by projected days left" in english.text and "Log out" in english.text
    assert "Kunden" in (await ops.get("/ops", params={"lang": "de"})).text

    # the console's cookie is no credential anywhere else
    tenant_id, auth = await new_customer(stack)
    assert (await ops.get("/admin/v1/tenants")).status_code == 401
    assert (await ops.get(f"/admin/v1/tenants/{tenant_id}")).status_code == 401
    assert (await ops.get("/v1/balance")).status_code == 401
    assert (await ops.get("/")).headers["location"] == "/login"
    # and a portal session is none for the console, under either cookie name
    user = await stack.http.post(
        f"/admin/v1/tenants/{tenant_id}/users",
        json={"email": f"{tenant_id}@x.example", "password": "pw-1234567"},
        headers=ADMIN,
    )
    assert user.status_code == 201, user.text
    async with console(str(stack.http.base_url)) as portal:
        page = await portal.get("/login")
        fields = form(page.text, action="/login")["fields"]
        portal_login = await portal.post(
            "/login", data={**fields, "email": f"{tenant_id}@x.example", "password": "pw-1234567"}
        )
        assert portal_login.status_code == 303, portal_login.text
        assert (await portal.get("/")).status_code == 200
        assert (await portal.get("/ops")).headers["location"] == "/ops/login"
        portal.cookies.set(OPS_COOKIE, portal.cookies["pp_session"])
        assert (await portal.get("/ops")).headers["location"] == "/ops/login"
    assert (await stack.http.get("/v1/balance", headers=auth)).status_code == 200


async def test_login_failures_are_limited_per_client_like_the_admin_api(stack, ops):
    for _ in range(10):  # ADMIN_AUTH_FAILURES_PER_MINUTE's default
        assert (await log_in(ops, token="guess")).status_code == 401
    limited = await log_in(ops)  # the right token, but after the limit
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert OPS_COOKIE not in ops.cookies
    # one count for the console and the admin API
    assert (await stack.http.get("/admin/v1/tenants", headers=ADMIN)).status_code == 429


async def test_logout_ends_the_session_on_the_server(stack, ops):
    await logged_in(ops)
    cookie = ops.cookies[OPS_COOKIE]
    overview = await ops.get("/ops")
    without_token = await ops.post("/ops/logout")
    assert without_token.status_code == 403 and (await ops.get("/ops")).status_code == 200

    out = await submit(ops, overview.text, action="/ops/logout")
    assert out.status_code == 303 and out.headers["location"] == "/ops/login"
    assert "Abgemeldet" in await flash_after(ops, out)
    assert await sessions_in_db(stack) == 0
    async with console(str(stack.http.base_url)) as replay:  # the old cookie, kept by someone
        replay.cookies.set(OPS_COOKIE, cookie)
        assert (await replay.get("/ops")).headers["location"] == "/ops/login"
        assert (await replay.get("/ops/tenants/x")).headers["location"] == "/ops/login"


async def test_a_session_ends_when_it_expires_or_the_admin_token_changes(stack, ops):
    await logged_in(ops)
    token = ops.cookies[OPS_COOKIE]
    async with stack.gateway.db.sessions() as session:
        assert await ops_sessions.operator_for(session, token, admin_token="test-admin-token") is not None
        assert await ops_sessions.operator_for(session, token, admin_token="a-rotated-token") is None
    async with stack.gateway.db.transaction() as session:
        await session.execute(sa.update(OpsSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await ops.get("/ops")).headers["location"] == "/ops/login"
    await logged_in(ops)  # a new login clears what expired
    assert await sessions_in_db(stack) == 1


async def test_no_post_changes_anything_without_the_sessions_csrf_token_or_from_another_site(stack, ops):
    tenant_id, auth = await new_customer(stack, name="Ziel GmbH")
    grant = await stack.http.post(
        f"/admin/v1/tenants/{tenant_id}/grants",
        json={"amount_cents": 900, "reason": "Start"},
        headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert grant.status_code == 201, grant.text
    grant_id = grant.json()["id"]
    await logged_in(ops)
    page = await tenant_page(ops, tenant_id)
    adjust_fields = form(page, id="adjust")["fields"]
    key = adjust_fields["key"]
    posts = {
        f"/ops/tenants/{tenant_id}/adjustments/confirm": {"amount": "50", "reason": "x", "key": key},
        f"/ops/tenants/{tenant_id}/adjustments": {"amount_cents": "5000", "reason": "x", "key": key},
        f"/ops/tenants/{tenant_id}/grants/confirm": {"amount": "50", "reason": "x", "key": key},
        f"/ops/tenants/{tenant_id}/grants": {"amount_cents": "5000", "reason": "x", "key": key},
        f"/ops/tenants/{tenant_id}/grants/{grant_id}/void/confirm": {},
        f"/ops/tenants/{tenant_id}/grants/{grant_id}/void": {},
        f"/ops/tenants/{tenant_id}/refunds/confirm": {"topup_id": "top_x", "amount": "1", "reason": "x", "key": key},
        f"/ops/tenants/{tenant_id}/refunds": {"topup_id": "top_x", "amount_cents": "100", "reason": "x", "key": key},
        "/ops/logout": {},
    }
    good = adjust_fields["csrf_token"]
    for path, data in posts.items():
        assert (await ops.post(path, data=data)).status_code == 403, path
        assert (await ops.post(path, data={**data, "csrf_token": "guess"})).status_code == 403, path
        assert (await ops.post(path, data={**data, "csrf_token": good[:-1]})).status_code == 403, path
        cross = await ops.post(path, data={**data, "csrf_token": good}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403, path
        fetched = await ops.post(path, data={**data, "csrf_token": good}, headers={"Sec-Fetch-Site": "cross-site"})
        assert fetched.status_code == 403, path
    # still logged in, nothing booked, the grant untouched
    assert (await ops.get("/ops")).status_code == 200
    kinds = [t["kind"] for t in await transactions(stack, auth)]
    assert kinds == ["grant"]
    grants = (await stack.http.get(f"/admin/v1/tenants/{tenant_id}/grants", headers=ADMIN)).json()["items"]
    assert [g["remaining_cents"] for g in grants] == [900]


async def test_adjust_grant_and_void_through_their_confirmations_once_each(stack, ops):
    tenant_id, auth = await new_customer(stack, name=SCRIPT)
    await logged_in(ops)
    listed = await ops.get("/ops", params={"query": tenant_id})
    assert SCRIPT not in listed.text and escape(SCRIPT) in listed.text

    page = await tenant_page(ops, tenant_id)
    assert SCRIPT not in page and escape(SCRIPT) in page
    reason = 'Gutschrift <b>"Ausfall"</b>'
    confirmation, confirm_form = await confirmed(ops, page, "adjust", amount="-12,50", reason=reason)
    assert "−12,50" in confirmation and escape(reason) in confirmation and SCRIPT not in confirmation
    assert [t["kind"] for t in await transactions(stack, auth)] == []  # nothing before the confirmation

    first, again = await asyncio.gather(
        ops.post(confirm_form["action"], data=confirm_form["fields"]),
        ops.post(confirm_form["action"], data=confirm_form["fields"]),
    )
    assert sorted([flash_key(first), flash_key(again)]) == ["ops.flash.adjusted", "ops.flash.again"]
    third = await ops.post(confirm_form["action"], data=confirm_form["fields"])
    assert await flash_after(ops, third) == (
        "Dieses Formular war schon ausgeführt (−12,50\u00a0€): nichts wurde doppelt gebucht."
    )
    assert [(t["kind"], t["amount_cents"], t["description"]) for t in await transactions(stack, auth)] == [
        ("adjustment", -1_250, reason)
    ]
    page = await tenant_page(ops, tenant_id)
    assert escape(reason) in page and "−12,50" in page

    # a grant with its expiry and priority, then voided
    _, grant_form = await confirmed(
        ops, page, "grant", amount="30", reason="Testphase", expires_at="2099-01-31T18:00", priority="5"
    )
    assert grant_form["fields"]["expires_at"] == "2099-01-31T18:00:00+01:00"
    assert "Aktionsguthaben über 30,00" in await flash_after(
        ops, await ops.post(grant_form["action"], data=grant_form["fields"])
    )
    assert "schon ausgeführt" in await flash_after(ops, await ops.post(grant_form["action"], data=grant_form["fields"]))
    [grant] = (await stack.http.get("/v1/grants", headers=auth)).json()["items"]
    assert (grant["amount_cents"], grant["priority"], grant["reason"]) == (3_000, 5, "Testphase")
    await wait_balance(stack, auth, 3_000 - 1_250)

    page = await tenant_page(ops, tenant_id)
    assert f'data-grant="{grant["id"]}"' in page
    void_confirmation = await submit(ops, page, action=f"/grants/{grant['id']}/void/confirm")
    assert void_confirmation.status_code == 200 and "Testphase" in void_confirmation.text
    void_form = form(void_confirmation.text, id="confirm")
    assert "entzogen (30,00" in await flash_after(ops, await ops.post(void_form["action"], data=void_form["fields"]))
    assert "schon geschlossen" in await flash_after(ops, await ops.post(void_form["action"], data=void_form["fields"]))
    kinds = sorted((t["kind"], t["amount_cents"]) for t in await transactions(stack, auth))
    assert kinds == [("adjustment", -1_250), ("expiry", -3_000), ("grant", 3_000)]
    page = await tenant_page(ops, tenant_id)
    assert (
        'data-kind="expiry"' in page
        and f'action="/ops/tenants/{tenant_id}/grants/{grant["id"]}/void/confirm"' not in page
    )

    # what the form does not carry is refused readably, and nothing is booked
    bad = await submit(ops, page, id="adjust", amount="0", reason="x")
    assert "gültigen Betrag" in await flash_after(ops, bad)
    no_reason = await submit(ops, page, id="grant", amount="5", reason="  ")
    assert "Grund" in await flash_after(ops, no_reason)
    assert len(await transactions(stack, auth)) == 3


def topup_row(page: str, topup_id: str) -> str:
    """The table row of one top-up in the tenant page's list."""
    start = page.find(f'<tr data-topup="{topup_id}">')
    assert start >= 0, f"top-up {topup_id} is not listed"
    return page[start : page.index("</tr>", start)]


def cell(row: str, testid: str) -> str:
    start = row.index(f'data-testid="{testid}">') + len(f'data-testid="{testid}">')
    return html.unescape(row[start : row.index("</td>", start)])


async def test_the_tenant_page_lists_its_top_ups_and_refunds_one_from_the_list_through_its_confirmation(stack, ops):
    tenant_id, auth = await new_customer(stack)
    topup = await fund(stack, auth, 10_000, expected_balance=10_500)
    await wait_topup(stack, auth, topup["id"], "succeeded")
    await logged_in(ops)
    page = await tenant_page(ops, tenant_id)
    row = topup_row(page, topup["id"])
    assert "Zahlungsseite" in row and "erfolgreich" in row and "100,00" in row and "5,00" in row
    assert (cell(row, "refunded"), cell(row, "refundable")) == ("0,00\u00a0€", "100,00\u00a0€")
    refund_form = form(page, id=f"refund-{topup['id']}")
    assert (refund_form["fields"]["topup_id"], refund_form["fields"]["amount"]) == (topup["id"], "100")
    assert 'id="refund-topup"' not in page  # no id to type any more
    english = topup_row((await ops.get(f"/ops/tenants/{tenant_id}", params={"lang": "en"})).text, topup["id"])
    assert "Checkout" in english and "succeeded" in english and "€100.00" in english
    assert (await ops.get("/ops", params={"lang": "de"})).status_code == 200  # back to German (a cookie)

    confirmation, confirm_form = await confirmed(
        ops, page, f"refund-{topup['id']}", amount="40", reason="doppelt belastet"
    )
    assert topup["id"] in confirmation and "100,00" in confirmation and "40,00" in confirmation
    assert sorted(t["kind"] for t in await transactions(stack, auth)) == ["bonus", "topup"]  # nothing yet
    done = await ops.post(confirm_form["action"], data=confirm_form["fields"])
    assert "Erstattung über 40,00" in await flash_after(ops, done)
    again = await ops.post(confirm_form["action"], data=confirm_form["fields"])
    assert "schon ausgeführt" in await flash_after(ops, again)
    await wait_balance(stack, auth, 10_500 - 4_000 - 200)
    page = await tenant_page(ops, tenant_id)
    assert 'data-kind="refund"' in page
    row = topup_row(page, topup["id"])
    assert (cell(row, "refunded"), cell(row, "refundable")) == ("40,00\u00a0€", "60,00\u00a0€")
    assert form(page, id=f"refund-{topup['id']}")["fields"]["amount"] == "60"

    _, too_much = await confirmed(ops, page, f"refund-{topup['id']}", amount="60,01", reason="Rest")
    refused = await flash_after(ops, await ops.post(too_much["action"], data=too_much["fields"]))
    assert refused == "Abgelehnt: nur noch 60,00\u00a0€ dieser Aufladung sind erstattbar."
    assert sorted(t["kind"] for t in await transactions(stack, auth)) == ["bonus", "bonus", "refund", "topup"]

    # the rest, as the list offers it: the top-up is refunded and offers nothing more
    _, rest = await confirmed(ops, page, f"refund-{topup['id']}", reason="Kündigung")
    assert "Erstattung über 60,00" in await flash_after(ops, await ops.post(rest["action"], data=rest["fields"]))
    await wait_balance(stack, auth, 0)
    page = await tenant_page(ops, tenant_id)
    row = topup_row(page, topup["id"])
    assert "erstattet" in row and cell(row, "refundable") == "0,00\u00a0€"
    assert f'id="refund-{topup["id"]}"' not in page

    if documents_available():  # the invoice, linked from its top-up, downloadable with the console's session

        async def invoice_link():
            text = await tenant_page(ops, tenant_id)
            return text if 'data-testid="invoice-link"' in topup_row(text, topup["id"]) else None

        row = topup_row(await eventually(invoice_link, timeout=30), topup["id"])
        href = row[row.rfind('href="', 0, row.find('data-testid="invoice-link"')) + 6 :].split('"', 1)[0]
        pdf = await ops.get(href)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", href
        assert pdf.content.startswith(b"%PDF")
        async with console(str(stack.http.base_url)) as stranger:
            assert (await stranger.get(href)).headers["location"] == "/ops/login"


async def test_without_payments_the_tenant_page_renders_and_its_top_ups_say_not_available(
    stack_parts, nats_url, database_url, new_schema, e2e_stripe
):
    async with open_stack(**stack_parts, with_payments=False) as stack:
        async with running(
            payments(
                nats_url,
                database_url,
                new_schema("pay"),
                stripe_api_base=e2e_stripe.base_url,
                stripe_webhook_secret=WEBHOOK_SECRET,
            )
        ):
            tenant_id, auth = await new_customer(stack, name="Ohne Zahlungsdienst")
            topup = await fund(stack, auth, 10_000, expected_balance=10_500)
            async with console(str(stack.http.base_url)) as ops:
                await logged_in(ops)
                assert topup_row(await tenant_page(ops, tenant_id), topup["id"])
        # payments is gone: the rest of the page is there, the top-ups say so
        async with console(str(stack.http.base_url)) as ops:
            await logged_in(ops)
            page = await tenant_page(ops, tenant_id)
            assert 'data-testid="topups-unavailable"' in page and "nicht verfügbar" in page
            assert "Ohne Zahlungsdienst" in page and "105,00" in page
            assert 'data-kind="topup"' in page and form(page, id="adjust") and f'data-topup="{topup["id"]}"' not in page
            english = await ops.get(f"/ops/tenants/{tenant_id}", params={"lang": "en"})
            assert english.status_code == 200 and "This part is not available right now" in english.text


async def test_another_tenants_grant_top_up_or_document_is_not_found_under_a_tenant(stack, ops):
    mine, _ = await new_customer(stack, name="Mein Kunde")
    theirs, their_auth = await new_customer(stack, name="Anderer Kunde")
    their_grant = (
        await stack.http.post(
            f"/admin/v1/tenants/{theirs}/grants",
            json={"amount_cents": 700, "reason": "fremd"},
            headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
        )
    ).json()
    their_topup = await fund(stack, their_auth, 10_000, expected_balance=10_500 + 700)
    await logged_in(ops)
    page = await tenant_page(ops, mine)
    csrf, key = (form(page, id="adjust")["fields"][name] for name in ("csrf_token", "key"))

    base = f"/ops/tenants/{mine}"
    for path, data in {
        f"{base}/grants/{their_grant['id']}/void/confirm": {},
        f"{base}/grants/{their_grant['id']}/void": {},
        f"{base}/refunds/confirm": {"topup_id": their_topup["id"], "amount": "1", "reason": "x", "key": key},
        f"{base}/refunds": {"topup_id": their_topup["id"], "amount_cents": "100", "reason": "x", "key": key},
    }.items():
        response = await ops.post(path, data={**data, "csrf_token": csrf})
        assert response.status_code == 404, (path, response.text)
    assert (await ops.get("/ops/tenants/ten_nobody")).status_code == 404
    assert (await ops.get(f"{base}/documents/doc_x/exe")).status_code == 404
    if documents_available():
        their_docs = await eventually(lambda: _documents(stack, their_auth), timeout=30)
        assert (await ops.get(f"{base}/documents/{their_docs[0]['id']}/pdf")).status_code == 404
        assert (await ops.get(f"/ops/tenants/{theirs}/documents/{their_docs[0]['id']}/pdf")).status_code == 200
    grants = (await stack.http.get(f"/admin/v1/tenants/{theirs}/grants", headers=ADMIN)).json()["items"]
    assert [g["remaining_cents"] for g in grants] == [700]
    assert (await stack.http.get(f"/v1/topups/{their_topup['id']}", headers=their_auth)).json()["status"] == "succeeded"


async def _documents(stack, auth) -> list[dict]:
    return (await stack.http.get("/v1/documents", params={"kind": "invoice"}, headers=auth)).json()["items"]


async def test_the_list_puts_the_shortest_runway_first(stack, ops):
    from tests.support.stack import publish_usage

    idle, _ = await new_customer(stack, name="Ohne Nutzung")
    long_id, long_auth = await new_customer(stack, name="Lange Reichweite")
    short_id, short_auth = await new_customer(stack, name="Kurze Reichweite")
    empty, _ = await new_customer(stack, name="Leer")
    for tenant_id, cents in ((long_id, 100_000), (short_id, 2_000)):
        credit = await stack.http.post(
            f"/admin/v1/tenants/{tenant_id}/adjustments",
            json={"amount_cents": cents, "reason": "Start"},
            headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert credit.status_code == 201, credit.text
    credit = await stack.http.post(
        f"/admin/v1/tenants/{idle}/adjustments",
        json={"amount_cents": 500, "reason": "Start"},
        headers={**ADMIN, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert credit.status_code == 201
    now = datetime.now(UTC).isoformat()
    js = stack.nc.jetstream()
    for tenant_id, auth, expected in ((long_id, long_auth, 99_300), (short_id, short_auth, 1_300)):
        await publish_usage(js, usage_id=f"{tenant_id}-u", tenant_id=tenant_id, amount_cents=700, occurred_at=now)
        await wait_balance(stack, auth, expected)
    await logged_in(ops)
    listed = (await ops.get("/ops")).text
    order = [listed.find(f'data-tenant="{tenant_id}"') for tenant_id in (empty, short_id, long_id, idle)]
    assert all(position > 0 for position in order) and order == sorted(order), order
