"""An EU business customer with a VAT ID is invoiced without VAT under § 13b UStG."""

from .checks import pdf_text, xml_cents, xml_value

SETTLEMENT_TAX = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def test_reverse_charge_invoice_charges_no_vat(reverse_charge_invoice):
    xml = reverse_charge_invoice.xml
    assert xml_value(xml, f"{SETTLEMENT_TAX}/ram:CategoryCode") == "AE"
    assert xml_cents(xml, f"{TOTALS}/ram:TaxTotalAmount") == 0
    assert xml_cents(xml, f"{TOTALS}/ram:TaxBasisTotalAmount") == 25_000
    assert xml_cents(xml, f"{TOTALS}/ram:GrandTotalAmount") == reverse_charge_invoice.total_cents == 25_000


def test_reverse_charge_invoice_names_both_vat_ids(reverse_charge_invoice):
    text, xml = pdf_text(reverse_charge_invoice.pdf), reverse_charge_invoice.xml
    for party, vat_id in (("ram:SellerTradeParty", "DE123456789"), ("ram:BuyerTradeParty", "NL123456789B01")):
        assert vat_id in text
        assert xml_value(xml, f"//{party}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == vat_id


def test_reverse_charge_wording_is_printed_in_german_and_english(reverse_charge_invoice):
    text = pdf_text(reverse_charge_invoice.pdf)
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "Reverse charge" in text
    assert xml_value(reverse_charge_invoice.xml, f"{SETTLEMENT_TAX}/ram:ExemptionReasonCode") == "VATEX-EU-AE"
