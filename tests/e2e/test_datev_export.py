"""The accountant's month: two invoices (one reverse charge, to a Dutch business) and a credit note,
exported through the admin API as a DATEV booking batch and the debtors, and read back."""

import asyncio
import csv
import io
import uuid

import pytest

from runtime.calendar import Calendar
from services.payments.stripe.client import StripeAdapter
from tests.support.stack import ADMIN

from .support import customer_id, documents_available, fund, intents_of, new_customer, open_stack

pytestmark = pytest.mark.skipif(not documents_available(), reason="documents service not built")


def read(content: bytes) -> list[dict[str, str]]:
    header, columns, *lines = list(csv.reader(io.StringIO(content.decode("cp1252")), delimiter=";"))
    assert header[:3] == ["EXTF", "700", "21"] and all(len(line) == len(columns) == 125 for line in lines)
    return [dict(zip(columns, line, strict=True)) for line in lines]


async def test_a_month_of_invoices_and_a_credit_note_exports_to_datev(
    nats_url, database_url, new_schema, e2e_stripe, tmp_path
):
    async with open_stack(
        nats_url=nats_url,
        database_url=database_url,
        new_schema=new_schema,
        emulator=e2e_stripe,
        tmp_path=tmp_path,
        with_documents=True,
    ) as s:
        german, german_auth = await new_customer(s)
        _, dutch_auth = await new_customer(
            s,
            name="Pieterse Klantenservice B.V.",
            country="NL",
            vat_id="NL123456789B01",
            address={"line1": "Keizersgracht 452", "postal_code": "1016 GD", "city": "Amsterdam"},
        )
        await fund(s, german_auth, 10_000, expected_balance=10_500)
        await fund(s, dutch_auth, 5_000, expected_balance=5_000)
        [intent] = await intents_of(e2e_stripe, await customer_id(s, german))
        stripe = StripeAdapter(api_key=e2e_stripe.api_key, api_base=e2e_stripe.base_url)
        try:
            await stripe.refund(payment_intent_id=intent["id"], idempotency_key=uuid.uuid4().hex, amount_cents=2_500)
        finally:
            await stripe.aclose()
        await _documents(s, german_auth, 2)
        await _documents(s, dutch_auth, 1)
        month = Calendar().today().strftime("%Y-%m")

        bookings = await s.http.get("/admin/v1/exports/datev", params={"month": month}, headers=ADMIN)
        again = await s.http.get("/admin/v1/exports/datev", params={"month": month}, headers=ADMIN)
        debtors = await s.http.get("/admin/v1/exports/datev-debtors", params={"month": month}, headers=ADMIN)
        refused = await s.http.get("/admin/v1/exports/datev", params={"month": month}, headers=german_auth)
        bad_month = await s.http.get("/admin/v1/exports/datev", params={"month": "2026-13"}, headers=ADMIN)

    assert bookings.status_code == 200 and "windows-1252" in bookings.headers["content-type"]
    lines = read(bookings.content)
    ours = sorted(
        (
            line["Belegfeld 1"][:2],
            line["Soll/Haben-Kennzeichen"],
            line["Umsatz (ohne Soll/Haben-Kz)"],
            line["Gegenkonto (ohne BU-Schlüssel)"],
            line["BU-Schlüssel"],
            line["EU-Land u. UStID (Bestimmung)"],
        )
        for line in lines
    )
    assert ours == [
        ("KR", "H", "25,00", "8200", "3", ""),
        ("RE", "S", "100,00", "8200", "3", ""),
        ("RE", "S", "50,00", "8336", "", "NL123456789B01"),
    ]
    by_number = {line["Belegfeld 1"]: line["Konto"] for line in lines}
    assert len(set(by_number.values())) == 2 and read(again.content) == lines  # debtor accounts stay the same
    debtor_lines = list(csv.reader(io.StringIO(debtors.content.decode("cp1252")), delimiter=";"))[2:]
    assert sorted(line[0] for line in debtor_lines) == sorted(set(by_number.values()))
    assert any(line[1] == "Pieterse Klantenservice B.V." for line in debtor_lines)
    assert refused.status_code == 401 and bad_month.status_code == 422


async def _documents(s, auth: dict, count: int) -> None:
    for _ in range(300):
        if len((await s.http.get("/v1/documents", headers=auth)).json()["items"]) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("documents were not issued")
