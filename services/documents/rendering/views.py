"""Template contexts: every printed string is decided here, templates only lay it out."""

from __future__ import annotations

from typing import Any

from .formatting import format_date, format_iban, format_money, format_month, format_signed_money
from .models import CreditNoteData, InvoiceData, Party, StatementData
from .tax import TaxBreakdown
from .texts import LABELS, entry_kind_label, reverse_charge_wording

Context = dict[str, Any]


def _party(party: Party) -> Context:
    return {
        "name": party.name,
        "street": party.street,
        "city_line": f"{party.postal_code} {party.city}".strip(),
        "country": party.country,
        "vat_id": party.vat_id,
        "tax_number": party.tax_number,
        "email": party.email,
        "iban": format_iban(party.iban) if party.iban else None,
    }


def _common(*, seller: Party, recipient: Party, locale: str, title: str, number: str) -> Context:
    return {
        "lang": locale,
        "t": LABELS[locale],
        "title": title,
        "number": number,
        "seller": _party(seller),
        "buyer": _party(recipient),
        "show_country": recipient.country != seller.country,
        "intro": None,
        "reason": None,
        "sender_line": " · ".join(
            part for part in (seller.name, seller.street, f"{seller.postal_code} {seller.city}") if part
        ),
    }


def _totals(tax: TaxBreakdown, locale: str, gross_label: str) -> Context:
    vat_label = f"{LABELS[locale]['vat']} {tax.rate_percent}\u00a0%"
    if tax.is_reverse_charge:
        vat_label = f"{vat_label} ({LABELS[locale]['reverse_charge_short']})"
    return {
        "net": format_money(tax.net_cents, locale),
        "vat_label": vat_label,
        "vat": format_money(tax.tax_cents, locale),
        "gross_label": gross_label,
        "gross": format_money(tax.gross_cents, locale),
        "rate": f"{tax.rate_percent}\u00a0%",
        "reverse_charge": reverse_charge_wording(locale) if tax.is_reverse_charge else None,
    }


def invoice_context(data: InvoiceData, tax: TaxBreakdown) -> Context:
    t = LABELS[data.locale]
    context = _common(
        seller=data.seller, recipient=data.buyer, locale=data.locale, title=t["invoice"], number=data.number
    )
    context["facts"] = [
        (t["invoice_number"], data.number),
        (t["issue_date"], format_date(data.issue_date, data.locale)),
        (t["supply_date"], format_date(data.supply_date, data.locale)),
        *([(t["payment_reference"], data.payment_reference)] if data.payment_reference else []),
        *([(t["customer_vat_id"], data.buyer.vat_id)] if data.buyer.vat_id else []),
    ]
    context["line"] = {
        "description": data.description or t["default_description"],
        "quantity": str(data.quantity),
        "unit_price": format_money(tax.net_cents, data.locale),
        "net": format_money(tax.net_cents, data.locale),
    }
    context["totals"] = _totals(tax, data.locale, t["gross_total"])
    notes = [t["paid_note"].format(date=format_date(data.supply_date, data.locale))]
    if data.bonus_cents:
        notes.append(t["bonus_note"].format(amount=format_money(data.bonus_cents, data.locale)))
    context["notes"] = notes
    return context


def credit_note_context(data: CreditNoteData, tax: TaxBreakdown) -> Context:
    t = LABELS[data.locale]
    original_date = format_date(data.original_invoice_date, data.locale)
    context = _common(
        seller=data.seller, recipient=data.buyer, locale=data.locale, title=t["credit_note"], number=data.number
    )
    context["facts"] = [
        (t["credit_note_number"], data.number),
        (t["issue_date"], format_date(data.issue_date, data.locale)),
        (t["original_invoice"], data.original_invoice_number),
        (t["original_invoice_date"], original_date),
        *([(t["payment_reference"], data.payment_reference)] if data.payment_reference else []),
        *([(t["customer_vat_id"], data.buyer.vat_id)] if data.buyer.vat_id else []),
    ]
    context["intro"] = t["correction_intro"].format(number=data.original_invoice_number, date=original_date)
    context["reason"] = data.reason
    context["line"] = {
        "description": f"{t['refund_description']} ({data.original_invoice_number})",
        "quantity": "1",
        "unit_price": format_money(tax.net_cents, data.locale),
        "net": format_money(tax.net_cents, data.locale),
    }
    context["totals"] = _totals(tax, data.locale, t["refund_total"])
    context["notes"] = [t["refund_note"]]
    return context


def statement_context(data: StatementData, period: tuple[str, str]) -> Context:
    t = LABELS[data.locale]
    money = format_money
    context = _common(
        seller=data.seller,
        recipient=data.tenant,
        locale=data.locale,
        title=f"{t['statement']} {format_month(data.month, data.locale)}",
        number=data.number,
    )
    context["facts"] = [
        (t["statement_number"], data.number),
        (t["issue_date"], format_date(data.issue_date, data.locale)),
        (t["period"], f"{period[0]} – {period[1]}"),
    ]
    context["opening"] = money(data.opening_balance_cents, data.locale)
    context["closing"] = money(data.closing_balance_cents, data.locale)
    context["subtotals"] = [
        (entry_kind_label(kind, data.locale), format_signed_money(cents, data.locale))
        for kind, cents in data.subtotals_by_kind.items()
    ]
    context["entries"] = [
        {
            "date": format_date(entry.date, data.locale),
            "kind": entry_kind_label(entry.kind, data.locale),
            "description": entry.description,
            "reference": entry.reference,
            "amount": format_signed_money(entry.amount_cents, data.locale),
            "debit": entry.amount_cents < 0,
            "balance": money(entry.balance_after_cents, data.locale),
        }
        for entry in data.entries
    ]
    return context
