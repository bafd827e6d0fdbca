"""The monthly statement lists every entry between opening and closing balance, without VAT."""

import dataclasses
import io

import pytest
from pypdf import PdfReader

from services.documents.rendering import InvalidDocumentData, render_statement, samples
from services.documents.rendering.formatting import format_money, format_signed_money

from .checks import normalise, pdf_text


@pytest.fixture(scope="module")
def statement_data():
    return samples.statement(entry_count=40)


def test_statement_shows_opening_and_closing_balance(statement, statement_data):
    text, data = pdf_text(statement.pdf), statement_data
    assert "Anfangssaldo" in text and normalise(format_money(data.opening_balance_cents, "de")) in text
    assert "Endsaldo" in text and normalise(format_money(data.closing_balance_cents, "de")) in text
    assert statement.total_cents == statement_data.closing_balance_cents


def test_statement_lists_every_entry(statement, statement_data):
    text = pdf_text(statement.pdf)
    for entry in statement_data.entries:
        assert entry.reference in text
        assert normalise(format_signed_money(entry.amount_cents, "de")) in text
        assert normalise(format_money(entry.balance_after_cents, "de")) in text


def test_statement_says_it_is_not_an_invoice_and_has_no_vat(statement):
    text = pdf_text(statement.pdf)
    assert "Dies ist keine Rechnung" in text
    assert "Umsatzsteuer 19" not in text
    assert statement.xml is None


def test_statement_subtotals_by_kind(statement_data):
    subtotals = statement_data.subtotals_by_kind
    assert subtotals["topup"] == 25_000 and subtotals["bonus"] == 2_500 and subtotals["refund"] == -10_000
    opening, closing = statement_data.opening_balance_cents, statement_data.closing_balance_cents
    assert opening + sum(subtotals.values()) == closing


def test_long_statement_continues_on_further_pages(statement):
    assert len(PdfReader(io.BytesIO(statement.pdf)).pages) >= 2


def test_empty_month_still_gives_a_statement():
    document = render_statement(samples.statement(entry_count=0))
    assert "keine Buchungen" in pdf_text(document.pdf)


def test_english_statement_still_says_keine_rechnung():
    text = pdf_text(render_statement(samples.statement(entry_count=3, locale="en")).pdf)
    assert "Account statement" in text and "keine Rechnung" in text and "Opening balance" in text


def test_entries_that_do_not_add_up_are_refused(statement_data):
    with pytest.raises(InvalidDocumentData):
        dataclasses.replace(statement_data, closing_balance_cents=statement_data.closing_balance_cents + 1)
