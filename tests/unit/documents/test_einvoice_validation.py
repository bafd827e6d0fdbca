"""The embedded XML is a valid EN 16931 e-invoice, and the validators really do reject bad ones."""

import pytest
from lxml import etree

from .checks import NS, check_xsd


@pytest.fixture(params=["domestic_invoice", "reverse_charge_invoice", "credit_note"])
def einvoice_xml(request) -> bytes:
    return request.getfixturevalue(request.param).xml


def test_xml_matches_the_factur_x_en16931_schema(einvoice_xml):
    check_xsd(einvoice_xml)


def test_xml_passes_every_en16931_business_rule(einvoice_xml, schematron):
    assert schematron.blocking_failures(einvoice_xml) == []


def test_xml_declares_the_en16931_profile(einvoice_xml):
    profile = etree.fromstring(einvoice_xml).xpath(
        "//rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()", namespaces=NS
    )
    assert profile == ["urn:cen.eu:en16931:2017"]


def _without(xml: bytes, xpath: str) -> bytes:
    root = etree.fromstring(xml)
    (element,) = root.xpath(xpath, namespaces=NS)
    element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _with_text(xml: bytes, xpath: str, text: str) -> bytes:
    root = etree.fromstring(xml)
    (element,) = root.xpath(xpath, namespaces=NS)
    element.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_schematron_rejects_a_wrong_grand_total(domestic_invoice, schematron):
    broken = _with_text(domestic_invoice.xml, "//ram:GrandTotalAmount", "999.99")
    check_xsd(broken)  # still well-formed and schema-valid: only the business rules catch it
    rules = {failure.rule for failure in schematron.blocking_failures(broken)}
    assert "BR-CO-15" in rules


def test_schematron_rejects_a_vat_breakdown_without_taxable_amount(domestic_invoice, schematron):
    broken = _without(
        domestic_invoice.xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:BasisAmount"
    )
    rules = {failure.rule for failure in schematron.blocking_failures(broken)}
    assert "BR-45" in rules


def test_schematron_rejects_reverse_charge_without_buyer_vat_id(reverse_charge_invoice, schematron):
    broken = _without(reverse_charge_invoice.xml, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration")
    assert schematron.blocking_failures(broken), "a reverse-charge invoice needs the buyer's VAT ID"


def test_xsd_rejects_an_element_in_the_wrong_place(domestic_invoice):
    root = etree.fromstring(domestic_invoice.xml)
    header = root.find("rsm:ExchangedDocument", NS)
    etree.SubElement(header, f"{{{NS['ram']}}}Unexpected").text = "x"
    with pytest.raises(Exception, match=r"(?i)not expected|xsd|schema"):
        check_xsd(etree.tostring(root))
