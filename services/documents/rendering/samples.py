"""Example documents for previews, the benchmark and tests (fictitious companies)."""

from __future__ import annotations

from datetime import date

from .models import CreditNoteData, InvoiceData, Party, StatementData, StatementEntry

SELLER = Party(
    name="Sprachwerk Telefonassistenz GmbH",
    street="Friedrichstraße 123",
    postal_code="10117",
    city="Berlin",
    country="DE",
    vat_id="DE123456789",
    tax_number="37/123/45678",
    email="rechnung@sprachwerk.example",
    iban="DE89370400440532013000",
)

BUYER_DE = Party(
    name="Müller & Söhne Rechtsanwaltsgesellschaft mbH",
    street="Donaudampfschifffahrtsgesellschaftsstraße 7",
    postal_code="80331",
    city="München",
    country="DE",
    email="buchhaltung@mueller-soehne.example",
)

BUYER_EU_B2B = Party(
    name="Pieterse Klantenservice B.V.",
    street="Keizersgracht 452",
    postal_code="1016 GD",
    city="Amsterdam",
    country="NL",
    vat_id="NL123456789B01",
)


def invoice(**changes) -> InvoiceData:
    values = {
        "number": "RE-2026-000042",
        "issue_date": date(2026, 3, 14),
        "supply_date": date(2026, 3, 14),
        "seller": SELLER,
        "buyer": BUYER_DE,
        "gross_cents": 25_000,
        "bonus_cents": 2_500,
        "payment_reference": "pi_3PqXyZ2eZvKYlo2C1aBcDeFg",
        "locale": "de",
    }
    return InvoiceData(**{**values, **changes})


def credit_note(**changes) -> CreditNoteData:
    values = {
        "number": "KR-2026-000007",
        "issue_date": date(2026, 3, 20),
        "original_invoice_number": "RE-2026-000042",
        "original_invoice_date": date(2026, 3, 14),
        "seller": SELLER,
        "buyer": BUYER_DE,
        "refunded_gross_cents": 10_000,
        "reason": "Teilerstattung auf Wunsch des Kunden (Kulanz)",
        "payment_reference": "re_3PqXyZ2eZvKYlo2C0hIjKlMn",
        "locale": "de",
    }
    return CreditNoteData(**{**values, **changes})


def statement_entries(opening_cents: int, count: int) -> tuple[StatementEntry, ...]:
    """A plausible month: top-ups with bonus, daily usage debits and one refund."""
    entries, balance = [], opening_cents
    plan = [("topup", 25_000, "Guthabenaufladung RE-2026-000042"), ("bonus", 2_500, "Bonus 10 %")]
    plan += [("usage", -(1_234 + 97 * i), f"Telefonminuten {i + 1}. Tag") for i in range(max(0, count - 3))]
    plan += [("refund", -10_000, "Erstattung KR-2026-000007")]
    for i, (kind, amount, text) in enumerate(plan[:count]):
        balance += amount
        entries.append(
            StatementEntry(
                date=date(2026, 3, min(28, 1 + i)),
                kind=kind,
                description=text,
                reference=f"txn_{i:04d}_{kind}",
                amount_cents=amount,
                balance_after_cents=balance,
            )
        )
    return tuple(entries)


def statement(entry_count: int = 12, **changes) -> StatementData:
    opening = 4_321
    entries = statement_entries(opening, entry_count)
    values = {
        "number": "KA-2026-000003",
        "issue_date": date(2026, 4, 1),
        "month": "2026-03",
        "seller": SELLER,
        "tenant": BUYER_DE,
        "opening_balance_cents": opening,
        "closing_balance_cents": entries[-1].balance_after_cents if entries else opening,
        "entries": entries,
        "locale": "de",
    }
    return StatementData(**{**values, **changes})
