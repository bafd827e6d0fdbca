"""A public-sector buyer: the tenant chooses XRechnung with its Leitweg-ID, pays a top-up by card, and
receives an invoice whose XML is an XRechnung 3.0 naming the card's last digits — passing the official
CEN and KoSIT rules."""

import asyncio

import pytest
from lxml import etree

from tests.unit.documents.test_official_rules import CEN, KOSIT, Rules, rules_dir

from .support import documents_available, fund, new_customer, open_stack

LEITWEG_ID = "04011000-1234512345-06"
pytestmark = pytest.mark.skipif(not documents_available(), reason="documents service not built")


async def test_an_xrechnung_tenant_gets_an_invoice_that_passes_the_kosit_rules(
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
        _, auth = await new_customer(s)
        refused = [
            await s.http.patch("/v1/account", json=body, headers=auth)
            for body in (
                {"einvoice_profile": "xrechnung"},
                {"einvoice_profile": "xrechnung", "buyer_reference": "04011000-1234512345-07"},
            )
        ]
        assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(400, "validation_error")] * 2
        assert "Leitweg-ID" in refused[0].json()["error"]["message"]
        assert "check digits" in refused[1].json()["error"]["message"]

        saved = await s.http.patch(
            "/v1/account", json={"einvoice_profile": "xrechnung", "buyer_reference": LEITWEG_ID}, headers=auth
        )
        assert saved.status_code == 200, saved.text
        assert (await s.http.get("/v1/account", headers=auth)).json()["buyer_reference"] == LEITWEG_ID

        await fund(s, auth, 10_000, expected_balance=10_500)
        xml = await _invoice_xml(s, auth)

    assert b"urn:xeinkauf.de:kosit:xrechnung_3.0" in xml and LEITWEG_ID.encode() in xml
    card = etree.fromstring(xml).xpath(
        "string(//*[local-name()='ApplicableTradeSettlementFinancialCard']/*[local-name()='ID'])"
    )
    assert card == "4242", xml.decode()[-1500:]  # pm_card_visa, Stripe's test card
    if (rules_dir() / KOSIT).exists():
        rules = Rules(rules_dir())
        for stylesheet in (CEN, KOSIT):
            assert [f for f in rules.failed(xml, stylesheet) if f[1] in ("fatal", "error")] == [], stylesheet


async def _invoice_xml(s, auth: dict) -> bytes:
    for _ in range(200):
        items = (await s.http.get("/v1/documents", params={"kind": "invoice"}, headers=auth)).json()["items"]
        if items:
            response = await s.http.get(f"/v1/documents/{items[0]['id']}/xml", headers=auth)
            assert response.status_code == 200, response.text
            return response.content
        await asyncio.sleep(0.1)
    raise AssertionError("no invoice was issued")
