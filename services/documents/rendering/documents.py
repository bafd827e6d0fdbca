"""The three documents: invoice and credit note (hybrid e-invoices) and the monthly statement."""

from __future__ import annotations

import calendar
from datetime import date

from .cii import TYPE_CREDIT_NOTE, TYPE_INVOICE, CiiInput, build_cii_xml
from .einvoice import embed_xml
from .formatting import format_date
from .models import CreditNoteData, InvoiceData, RenderedDocument, StatementData
from .pdf import html_to_pdf, render_html
from .tax import split_gross
from .texts import LABELS
from .views import credit_note_context, invoice_context, statement_context


def render_invoice(data: InvoiceData) -> RenderedDocument:
    tax = split_gross(data.gross_cents, seller=data.seller, buyer=data.buyer)
    context = invoice_context(data, tax)
    xml = build_cii_xml(
        CiiInput(
            number=data.number,
            type_code=TYPE_INVOICE,
            issue_date=data.issue_date,
            supply_date=data.supply_date,
            seller=data.seller,
            buyer=data.buyer,
            description=context["line"]["description"],
            tax=tax,
            already_settled=True,
            payment_terms=context["notes"][0],
            notes=tuple(context["notes"][1:]),
            payment_reference=data.payment_reference,
            einvoice=data.einvoice,
            card=data.card,
        )
    )
    return _tax_document(context, xml, data.locale, data.seller, tax.gross_cents, tax.category.value)


def render_credit_note(data: CreditNoteData) -> RenderedDocument:
    tax = split_gross(data.refunded_gross_cents, seller=data.seller, buyer=data.buyer)
    context = credit_note_context(data, tax)
    xml = build_cii_xml(
        CiiInput(
            number=data.number,
            type_code=TYPE_CREDIT_NOTE,
            issue_date=data.issue_date,
            supply_date=data.issue_date,
            seller=data.seller,
            buyer=data.buyer,
            description=context["line"]["description"],
            tax=tax,
            already_settled=True,
            payment_terms=context["notes"][0],  # refunded to the card: nothing is due
            notes=(context["intro"], f"{LABELS[data.locale]['reason']}: {data.reason}"),
            payment_reference=data.payment_reference,
            preceding_invoice=(data.original_invoice_number, data.original_invoice_date),
            einvoice=data.einvoice,
            card=data.card,
        )
    )
    return _tax_document(context, xml, data.locale, data.seller, tax.gross_cents, tax.category.value)


def render_statement(data: StatementData) -> RenderedDocument:
    context = statement_context(data, _statement_period(data))
    pdf = html_to_pdf(render_html("statement.html", context))
    return RenderedDocument(pdf=pdf, xml=None, total_cents=data.closing_balance_cents)


def _tax_document(context, xml: bytes, locale: str, seller, total_cents: int, tax_category: str) -> RenderedDocument:
    pdf = html_to_pdf(render_html("tax_document.html", context))
    title = f"{context['title']} {context['number']}"
    pdf = embed_xml(pdf, xml, title=title, seller=seller, lang=locale)
    return RenderedDocument(pdf=pdf, xml=xml, total_cents=total_cents, tax_category=tax_category)


def _statement_period(data: StatementData) -> tuple[str, str]:
    """The whole month, or month-to-date when the statement is issued within the month."""
    year, month = (int(part) for part in data.month.split("-"))
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    end = min(last, max(first, data.issue_date))
    return format_date(first, data.locale), format_date(end, data.locale)
