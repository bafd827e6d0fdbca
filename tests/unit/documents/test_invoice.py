"""A paid top-up becomes a PDF/A-3 invoice whose printed figures match its embedded XML."""

import io

import pytest
from pypdf import PdfReader

from services.documents.rendering import InvalidDocumentData, render_invoice, samples
from services.documents.rendering.formatting import format_money

from .checks import embedded_files, normalise, pdf_text, xml_cents, xml_value, xmp_metadata

TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def test_invoice_prints_the_legally_required_figures(domestic_invoice):
    text = pdf_text(domestic_invoice.pdf)
    for expected in (
        "Rechnung",
        "RE-2026-000042",
        "14.03.2026",
        "Leistungsdatum",
        "Guthabenaufladung",
        "210,08 €",
        "Umsatzsteuer 19 %",
        "39,92 €",
        "250,00 €",
        "Steuernummer: 37/123/45678",
        "USt-IdNr.: DE123456789",
        "DE89 3704 0044 0532 0130 00",
    ):
        assert expected in text, expected


def test_printed_number_totals_and_parties_match_the_xml(domestic_invoice):
    text, xml = pdf_text(domestic_invoice.pdf), domestic_invoice.xml
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:ID") in text
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    for amount in ("ram:TaxBasisTotalAmount", "ram:TaxTotalAmount", "ram:GrandTotalAmount"):
        assert format_money(xml_cents(xml, f"{TOTALS}/{amount}"), "de").replace("\u00a0", " ") in text
    for party in ("ram:SellerTradeParty", "ram:BuyerTradeParty"):
        assert normalise(xml_value(xml, f"//{party}/ram:Name")) in text
        assert xml_value(xml, f"//{party}/ram:PostalTradeAddress/ram:CityName") in text
    assert xml_cents(xml, f"{TOTALS}/ram:GrandTotalAmount") == domestic_invoice.total_cents == 25_000


def test_bonus_is_mentioned_but_not_invoiced(domestic_invoice):
    text = pdf_text(domestic_invoice.pdf)
    assert "Bonus von 25,00 €" in text
    assert "nicht Bestandteil dieser Rechnung" in text
    assert xml_cents(domestic_invoice.xml, f"{TOTALS}/ram:GrandTotalAmount") == 25_000


def test_paid_invoice_has_nothing_left_to_pay(domestic_invoice):
    assert xml_cents(domestic_invoice.xml, f"{TOTALS}/ram:TotalPrepaidAmount") == 25_000
    assert xml_cents(domestic_invoice.xml, f"{TOTALS}/ram:DuePayableAmount") == 0


def test_pdf_is_pdf_a_3_with_the_factur_x_xml_attached(domestic_invoice):
    xmp = xmp_metadata(domestic_invoice.pdf)
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert embedded_files(domestic_invoice.pdf) == {"factur-x.xml": domestic_invoice.xml}


def test_every_font_is_embedded(domestic_invoice):
    for page in PdfReader(io.BytesIO(domestic_invoice.pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor.get_object()


def test_english_invoice_speaks_english():
    text = pdf_text(render_invoice(samples.invoice(locale="en")).pdf)
    assert "Invoice" in text and "Prepaid balance top-up" in text and "€250.00" in text


def test_long_german_words_stay_inside_the_page():
    buyer = samples.Party(
        name="Grundstücksverkehrsgenehmigungszuständigkeitsübertragungsverordnungsgesellschaft mbH",
        street="Rinderkennzeichnungsfleischetikettierungsüberwachungsstraße 123",
        postal_code="01234",
        city="Hohenmölsen-Großgrimma",
        country="DE",
    )
    document = render_invoice(samples.invoice(buyer=buyer))
    text = pdf_text(document.pdf).replace("\u2010 ", "")  # WeasyPrint hyphenates with U+2010
    assert "Grundstücksverkehrsgenehmigungszuständigkeitsübertragungsverordnungsgesellschaft" in text
    assert _page_count(document.pdf) == 1


def test_a_zero_or_negative_invoice_is_refused():
    with pytest.raises(InvalidDocumentData):
        samples.invoice(gross_cents=0)


def _page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)
