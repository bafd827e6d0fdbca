"""Typed inputs and output of the document renderer. Money is always integer euro cents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Locale = Literal["de", "en"]
EInvoiceProfile = Literal["en16931", "xrechnung"]  # Factur-X/ZUGFeRD EN 16931, or XRechnung 3.0 (CII)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class InvalidDocumentData(ValueError):
    """The data cannot produce a correct document (e.g. a negative invoice amount)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidDocumentData(message)


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    street: str
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2, e.g. "DE"
    vat_id: str | None = None  # USt-IdNr., e.g. "DE123456789"
    tax_number: str | None = None  # Steuernummer, e.g. "30/123/45678"
    email: str | None = None
    iban: str | None = None
    phone: str | None = None
    contact: str | None = None  # a person or department to ask (BT-41; XRechnung wants the seller's)

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()), "party name is required")
        _require(
            len(self.country) == 2 and self.country.isalpha() and self.country.isupper(),
            f"country must be an upper-case ISO alpha-2 code, got {self.country!r}",
        )


@dataclass(frozen=True, slots=True)
class PaymentCard:
    """The card a top-up was paid with (BG-18): no more than its last digits ever reach a document."""

    last4: str
    brand: str | None = None

    def __post_init__(self) -> None:
        _require(len(self.last4) == 4 and self.last4.isdigit(), "a card is named by its last four digits")


@dataclass(frozen=True, slots=True)
class EInvoice:
    """Which e-invoice the buyer receives: `xrechnung` for German public buyers needs their Leitweg-ID."""

    profile: EInvoiceProfile = "en16931"
    buyer_reference: str | None = None  # BT-10

    def __post_init__(self) -> None:
        _require(self.profile in ("en16931", "xrechnung"), f"unknown e-invoice profile {self.profile!r}")
        _require(
            self.profile != "xrechnung" or bool(self.buyer_reference),
            "an XRechnung needs the buyer reference (Leitweg-ID)",
        )


@dataclass(frozen=True, slots=True)
class InvoiceData:
    number: str  # RE-2026-000001
    issue_date: date
    supply_date: date  # Leistungsdatum: the day the top-up was paid and credited
    seller: Party
    buyer: Party
    gross_cents: int
    bonus_cents: int = 0  # credited on top of the payment, not invoiced revenue
    payment_reference: str | None = None  # e.g. the Stripe PaymentIntent id
    description: str | None = None  # defaults to "Guthabenaufladung" / "Prepaid balance top-up"
    quantity: int = 1
    locale: Locale = "de"
    einvoice: EInvoice = field(default_factory=EInvoice)
    card: PaymentCard | None = None

    def __post_init__(self) -> None:
        _require(bool(self.number.strip()), "invoice number is required")
        _require(self.gross_cents > 0, "invoice gross amount must be positive")
        _require(self.bonus_cents >= 0, "bonus cannot be negative")
        _require(self.quantity == 1, "a top-up invoice has exactly one unit")
        _require(self.locale in ("de", "en"), f"unsupported locale {self.locale!r}")


@dataclass(frozen=True, slots=True)
class CreditNoteData:
    number: str  # KR-2026-000001
    issue_date: date
    original_invoice_number: str
    original_invoice_date: date
    seller: Party
    buyer: Party
    refunded_gross_cents: int
    reason: str
    payment_reference: str | None = None  # e.g. the Stripe refund id
    locale: Locale = "de"
    einvoice: EInvoice = field(default_factory=EInvoice)
    card: PaymentCard | None = None  # the card the refund goes back to (the invoice's)

    def __post_init__(self) -> None:
        _require(bool(self.number.strip()), "credit note number is required")
        _require(bool(self.original_invoice_number.strip()), "original invoice number is required")
        _require(self.refunded_gross_cents > 0, "refunded amount must be positive")
        _require(self.original_invoice_date <= self.issue_date, "a credit note cannot predate the invoice it corrects")
        _require(self.locale in ("de", "en"), f"unsupported locale {self.locale!r}")


@dataclass(frozen=True, slots=True)
class StatementEntry:
    date: date
    kind: str  # topup | bonus | usage | refund | adjustment | …
    description: str
    reference: str
    amount_cents: int  # signed: credits positive, debits negative
    balance_after_cents: int


@dataclass(frozen=True, slots=True)
class StatementData:
    number: str  # KA-2026-000001
    issue_date: date
    month: str  # "YYYY-MM"
    seller: Party
    tenant: Party
    opening_balance_cents: int
    closing_balance_cents: int
    entries: tuple[StatementEntry, ...] = field(default_factory=tuple)
    locale: Locale = "de"

    def __post_init__(self) -> None:
        _require(bool(_MONTH.match(self.month)), f"month must be YYYY-MM, got {self.month!r}")
        _require(self.locale in ("de", "en"), f"unsupported locale {self.locale!r}")
        balance = self.opening_balance_cents
        for entry in self.entries:
            balance += entry.amount_cents
            _require(
                entry.balance_after_cents == balance,
                f"entry {entry.reference!r}: balance after is {entry.balance_after_cents}, expected {balance}",
            )
        _require(
            balance == self.closing_balance_cents, "opening balance plus entries does not equal the closing balance"
        )

    @property
    def subtotals_by_kind(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for entry in self.entries:
            totals[entry.kind] = totals.get(entry.kind, 0) + entry.amount_cents
        return totals


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    pdf: bytes
    xml: bytes | None  # the EN 16931 CII XML (invoices and credit notes), None for statements
    total_cents: int  # gross of an invoice / credit note, closing balance of a statement
    tax_category: str | None = None  # UNTDID 5305 of an invoice / credit note: S (19 %) or AE (reverse charge)
