"""A refund produces a Rechnungskorrektur (type 381) that points at the original invoice."""

import pytest

from services.documents.rendering import InvalidDocumentData, render_credit_note, samples

from .checks import embedded_files, pdf_text, xml_cents, xml_value, xmp_metadata

TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
PRECEDING = "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"


def test_credit_note_is_titled_rechnungskorrektur_never_gutschrift(credit_note):
    text = pdf_text(credit_note.pdf)
    assert "Rechnungskorrektur" in text
    assert "gutschrift" not in text.lower()
    assert b"gutschrift" not in credit_note.xml.lower()


def test_credit_note_refers_to_original_invoice_number_and_date(credit_note):
    text, xml = pdf_text(credit_note.pdf), credit_note.xml
    assert "RE-2026-000042" in text and "14.03.2026" in text
    assert xml_value(xml, f"{PRECEDING}/ram:IssuerAssignedID") == "RE-2026-000042"
    assert xml_value(xml, f"{PRECEDING}/ram:FormattedIssueDateTime/*") == "20260314"


def test_credit_note_has_type_code_381_and_its_own_number(credit_note):
    assert xml_value(credit_note.xml, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert xml_value(credit_note.xml, "//rsm:ExchangedDocument/ram:ID") == "KR-2026-000007"
    assert "KR-2026-000007" in pdf_text(credit_note.pdf)


def test_credit_note_totals_split_the_refund_like_an_invoice(credit_note):
    text, xml = pdf_text(credit_note.pdf), credit_note.xml
    amounts = ("TaxBasisTotalAmount", "TaxTotalAmount", "GrandTotalAmount")
    assert [xml_cents(xml, f"{TOTALS}/ram:{amount}") for amount in amounts] == [8_403, 1_597, 10_000]
    assert "84,03 €" in text and "15,97 €" in text and "100,00 €" in text
    assert credit_note.total_cents == 10_000
    assert "Teilerstattung auf Wunsch des Kunden" in text


def test_credit_note_is_a_pdf_a_3_e_invoice(credit_note):
    assert "<pdfaid:part>3</pdfaid:part>" in xmp_metadata(credit_note.pdf)
    assert embedded_files(credit_note.pdf) == {"factur-x.xml": credit_note.xml}


def test_english_credit_note_is_a_credit_note_not_a_gutschrift():
    document = render_credit_note(samples.credit_note(locale="en"))
    text = pdf_text(document.pdf)
    assert "Credit note" in text and "RE-2026-000042" in text and "14 March 2026" in text
    assert "gutschrift" not in text.lower()


def test_credit_note_cannot_predate_its_invoice():
    from datetime import date

    with pytest.raises(InvalidDocumentData):
        samples.credit_note(issue_date=date(2026, 3, 1))
