"""Printed wording per locale. German is the legal default; English mirrors it."""

from __future__ import annotations

# Wording required by § 14a Abs. 5 UStG; the English text is added, never substituted.
REVERSE_CHARGE_DE = "Steuerschuldnerschaft des Leistungsempfängers"
REVERSE_CHARGE_EN = "Reverse charge"

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Rechnungskorrektur",
        "statement": "Kontoauszug",
        "invoice_number": "Rechnungsnummer",
        "credit_note_number": "Korrekturnummer",
        "statement_number": "Auszugsnummer",
        "issue_date": "Datum",
        "supply_date": "Leistungsdatum",
        "original_invoice": "Korrigierte Rechnung",
        "original_invoice_date": "Rechnungsdatum",
        "payment_reference": "Zahlungsreferenz",
        "period": "Zeitraum",
        "customer_vat_id": "Ihre USt-IdNr.",
        "position": "Pos.",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis netto",
        "vat_rate": "USt.",
        "line_net": "Betrag netto",
        "net_total": "Nettobetrag",
        "vat": "Umsatzsteuer",
        "gross_total": "Gesamtbetrag",
        "refund_total": "Erstattungsbetrag",
        "default_description": "Guthabenaufladung",
        "refund_description": "Erstattung zur Guthabenaufladung",
        "paid_note": "Der Betrag wurde am {date} bereits bezahlt. Bitte nicht überweisen.",
        "refund_note": "Der Betrag wird über das ursprüngliche Zahlungsmittel erstattet.",
        "bonus_note": (
            "Zusätzlich wurde Ihrem Guthaben ein Bonus von {amount} gutgeschrieben. "
            "Der Bonus wird nicht berechnet und ist nicht Bestandteil dieser Rechnung."
        ),
        "reason": "Grund der Korrektur",
        "correction_intro": "Hiermit korrigieren wir die Rechnung {number} vom {date}.",
        "reverse_charge_short": "§ 13b UStG",
        "reverse_charge_note": "Die Umsatzsteuer schuldet der Leistungsempfänger (§ 13b UStG).",
        "seller_vat_id": "USt-IdNr.",
        "seller_tax_number": "Steuernummer",
        "iban": "IBAN",
        "email": "E-Mail",
        "page": "Seite",
        "of": "von",
        "opening_balance": "Anfangssaldo",
        "closing_balance": "Endsaldo",
        "summary": "Übersicht",
        "entries": "Buchungen",
        "date": "Datum",
        "kind": "Art",
        "reference": "Referenz",
        "amount": "Betrag",
        "balance": "Saldo",
        "no_entries": "Im Zeitraum gab es keine Buchungen.",
        "not_an_invoice": (
            "Dies ist keine Rechnung. Rechnungen und Rechnungskorrekturen "
            "erhalten Sie gesondert. Der Auszug enthält keine Umsatzsteuer."
        ),
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "statement": "Account statement",
        "invoice_number": "Invoice number",
        "credit_note_number": "Credit note number",
        "statement_number": "Statement number",
        "issue_date": "Date",
        "supply_date": "Date of supply",
        "original_invoice": "Corrected invoice",
        "original_invoice_date": "Invoice date",
        "payment_reference": "Payment reference",
        "period": "Period",
        "customer_vat_id": "Your VAT ID",
        "position": "No.",
        "description": "Description",
        "quantity": "Qty",
        "unit_price": "Unit price (net)",
        "vat_rate": "VAT",
        "line_net": "Net amount",
        "net_total": "Net total",
        "vat": "VAT",
        "gross_total": "Total",
        "refund_total": "Total refunded",
        "default_description": "Prepaid balance top-up",
        "refund_description": "Refund of prepaid balance top-up",
        "paid_note": "This amount was paid on {date}. No payment is due.",
        "refund_note": "The amount is refunded to the original means of payment.",
        "bonus_note": (
            "In addition, a bonus of {amount} was added to your balance. "
            "The bonus is free of charge and not part of this invoice."
        ),
        "reason": "Reason for correction",
        "correction_intro": "This document corrects invoice {number} dated {date}.",
        "reverse_charge_short": "reverse charge",
        "reverse_charge_note": "VAT is payable by the recipient of the service (§ 13b UStG).",
        "seller_vat_id": "VAT ID",
        "seller_tax_number": "Tax number",
        "iban": "IBAN",
        "email": "Email",
        "page": "Page",
        "of": "of",
        "opening_balance": "Opening balance",
        "closing_balance": "Closing balance",
        "summary": "Summary",
        "entries": "Entries",
        "date": "Date",
        "kind": "Type",
        "reference": "Reference",
        "amount": "Amount",
        "balance": "Balance",
        "no_entries": "There were no entries in this period.",
        "not_an_invoice": (
            "This is not an invoice (Dies ist keine Rechnung). Invoices and "
            "credit notes are issued separately. This statement shows no VAT."
        ),
    },
}

ENTRY_KINDS: dict[str, dict[str, str]] = {
    "de": {
        "topup": "Aufladung",
        "bonus": "Bonus",
        "usage": "Verbrauch",
        "refund": "Erstattung",
        "adjustment": "Korrektur",
        "grant": "Aktionsguthaben",
        "expiry": "Verfall",
        "chargeback": "Rückbuchung",
    },
    "en": {
        "topup": "Top-up",
        "bonus": "Bonus",
        "usage": "Usage",
        "refund": "Refund",
        "adjustment": "Adjustment",
        "grant": "Promotional credit",
        "expiry": "Expiry",
        "chargeback": "Chargeback",
    },
}


def entry_kind_label(kind: str, locale: str) -> str:
    return ENTRY_KINDS[locale].get(kind, kind.replace("_", " ").capitalize())


def reverse_charge_wording(locale: str) -> str:
    if locale == "en":
        return f"{REVERSE_CHARGE_EN} – {REVERSE_CHARGE_DE}"
    return REVERSE_CHARGE_DE
