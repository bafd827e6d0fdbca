"""Pure rendering of German billing documents: no database, no messaging, no web framework.

    render_invoice(InvoiceData)         -> RenderedDocument(pdf=PDF/A-3b + factur-x.xml, xml, total)
    render_credit_note(CreditNoteData)  -> RenderedDocument(...)  "Rechnungskorrektur", type 381
    render_statement(StatementData)     -> RenderedDocument(pdf, xml=None, total=closing balance)

Calls are synchronous and CPU-bound (~0.1 s warm); run them in a worker thread or process and
call warm_up() once at start-up (~1 s: subsets the fonts, parses the stylesheet). Renders in one
process are serialised by a lock (one shared font configuration); scale with processes.
"""

from .documents import render_credit_note, render_invoice, render_statement
from .einvoice import InvalidEInvoice
from .models import (
    CreditNoteData,
    InvalidDocumentData,
    InvoiceData,
    Party,
    RenderedDocument,
    StatementData,
    StatementEntry,
)
from .pdf import warm_up
from .tax import TaxBreakdown, split_gross

__all__ = [
    "CreditNoteData",
    "InvalidDocumentData",
    "InvalidEInvoice",
    "InvoiceData",
    "Party",
    "RenderedDocument",
    "StatementData",
    "StatementEntry",
    "TaxBreakdown",
    "render_credit_note",
    "render_invoice",
    "render_statement",
    "split_gross",
    "warm_up",
]
