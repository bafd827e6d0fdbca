"""The month's invoices and credit notes for the tax adviser: a DATEV "Buchungsstapel" (EXTF format
version 700, data category 21, format version 13) and the debtor master data (category 16, format
version 5), Windows-1252, `;`-separated, decimal comma, dates as DDMM.

One booking line per document, gross amount: an invoice debits (S) the tenant's debtor account
against the revenue account, a credit note credits (H) it. Which revenue account and BU tax key is
a decision of the operator's tax adviser; the defaults (docs/operations.md, "DATEV export") are

    case                                      SKR03   SKR04   BU key
    19 % German VAT (tax category S)          8200    4200    3  (USt 19 %)
    reverse charge, EU B2B (category AE)      8336    4336    -  (the account's automatic function)

8200/4200 are "Erlöse" without an automatic tax function, so the key carries the 19 %; 8336/4336 are
DATEV's accounts for "Erlöse aus im anderen EU-Land steuerpflichtigen sonstigen Leistungen, für die
der Leistungsempfänger die Umsatzsteuer schuldet", whose automatic function also feeds the
Zusammenfassende Meldung; a key there would be refused, so the line carries the buyer's EU VAT ID in
"EU-Land u. UStID (Bestimmung)" instead. Every account and key is a setting.

Debtor accounts have DATEV_ACCOUNT_LENGTH + 1 digits and come from DATEV_DEBTOR_RANGE, one per tenant,
assigned at its first export and never reused (`datev_debtors`).

`python -m services.documents.datev example` prints the bookings of a sample month (two invoices, one
of them reverse charge, and a credit note) — the file in docs/.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from contracts.billing.v1 import AccountProfile
from runtime.db import Database
from runtime.tables import table_of
from services.documents.tables import DatevDebtor, documents

ENCODING = "cp1252"
BOOKING_COLUMNS: tuple[str, ...] = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    *(name for i in range(1, 9) for name in (f"Beleginfo - Art {i}", f"Beleginfo - Inhalt {i}")),
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    *(name for i in range(1, 21) for name in (f"Zusatzinformation - Art {i}", f"Zusatzinformation- Inhalt {i}")),
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Mitgliedstaat (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Leerfeld",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
)
DEBTOR_COLUMNS: tuple[str, ...] = (
    "Konto",
    "Name (Adressattyp Unternehmen)",
    "Unternehmensgegenstand",
    "Name (Adressattyp natürl. Person)",
    "Vorname (Adressattyp natürl. Person)",
    "Name (Adressattyp keine Angabe)",
    "Adressattyp",
    "Kurzbezeichnung",
    "EU-Land",
    "EU-UStID",
    "Anrede",
    "Titel/Akad. Grad",
    "Adelstitel",
    "Namensvorsatz",
    "Adressart",
    "Straße",
    "Postfach",
    "Postleitzahl",
    "Ort",
    "Land",
    "Versandzusatz",
    "Adresszusatz",
    "Abweichende Anrede",
    "Abw. Zustellbezeichnung 1",
    "Abw. Zustellbezeichnung 2",
    "Kennz. Korrespondenzadresse",
    "Adresse Gültig von",
    "Adresse Gültig bis",
    "Telefon",
    "Bemerkung (Telefon)",
    "Telefon GL",
    "Bemerkung (Telefon GL)",
    "E-Mail",
)
DEFAULT_ACCOUNTS = {"SKR03": {"S": "8200", "AE": "8336"}, "SKR04": {"S": "4200", "AE": "4336"}}


@dataclass(frozen=True)
class DatevConfig:
    consultant_number: int = 1001
    client_number: int = 1
    chart: str = "SKR03"
    account_length: int = 4
    debtor_range: tuple[int, int] = (10000, 69999)
    revenue_accounts: dict[str, str] | None = None  # tax category → account; None: the chart's default
    tax_keys: dict[str, str] | None = None  # tax category → BU key
    fiscal_year_start_month: int = 1

    @classmethod
    def from_settings(cls, settings) -> DatevConfig:
        low, high = (int(x) for x in settings.datev_debtor_range.split("-"))
        defaults = DEFAULT_ACCOUNTS[settings.datev_chart]
        return cls(
            consultant_number=settings.datev_consultant_number,
            client_number=settings.datev_client_number,
            chart=settings.datev_chart,
            account_length=settings.datev_account_length,
            debtor_range=(low, high),
            revenue_accounts={
                "S": settings.datev_revenue_account or defaults["S"],
                "AE": settings.datev_reverse_charge_account or defaults["AE"],
            },
            tax_keys={"S": settings.datev_tax_key, "AE": settings.datev_reverse_charge_tax_key},
            fiscal_year_start_month=settings.datev_fiscal_year_start_month,
        )

    def revenue_account(self, category: str) -> str:
        return (self.revenue_accounts or DEFAULT_ACCOUNTS[self.chart])[category]

    def tax_key(self, category: str) -> str:
        return (self.tax_keys or {"S": "3", "AE": ""}).get(category, "")


@dataclass(frozen=True)
class Booking:
    """One issued invoice or credit note of the month."""

    kind: str  # invoice | credit_note
    tenant_id: str
    number: str
    issue_date: date
    gross_cents: int
    tax_category: str  # S | AE
    debtor: int
    buyer_vat_id: str | None = None
    reference: str | None = None  # a credit note: the invoice it corrects


def _text(value: object, limit: int | None = None) -> str:
    """A DATEV text field: quoted, no quote or line break inside, what cp1252 cannot hold replaced."""
    text = " ".join(str(value or "").replace('"', "'").split())
    text = text.encode(ENCODING, errors="replace").decode(ENCODING)
    return f'"{text[:limit] if limit else text}"'


def _amount(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}".replace(".", ",")


def header(
    config: DatevConfig, *, category: int, name: str, version: int, month: str, created: datetime, description: str
) -> list[str]:
    """The EXTF header row (DATEV-Format 700)."""
    year, mon = (int(p) for p in month.split("-"))
    first = date(year, mon, 1)
    last = date(year + (mon == 12), mon % 12 + 1, 1).toordinal() - 1
    fiscal_start = date(year if mon >= config.fiscal_year_start_month else year - 1, config.fiscal_year_start_month, 1)
    booking = category == 21
    return [
        '"EXTF"',
        "700",
        str(category),
        _text(name),
        str(version),
        created.strftime("%Y%m%d%H%M%S%f")[:17],
        "",
        '"RE"',
        _text("prepaid-portal"),
        "",
        str(config.consultant_number),
        str(config.client_number),
        fiscal_start.strftime("%Y%m%d"),
        str(config.account_length),
        first.strftime("%Y%m%d") if booking else "",
        date.fromordinal(last).strftime("%Y%m%d") if booking else "",
        _text(description, 30) if booking else "",
        "",
        "1" if booking else "",
        "0" if booking else "",
        "0" if booking else "",
        _text("EUR") if booking else "",
        "",
        "",
        "",
        "",
        _text(config.chart[-2:]),
        "",
        "",
        "",
        "",
    ]


def booking_line(config: DatevConfig, b: Booking) -> list[str]:
    cells = [""] * len(BOOKING_COLUMNS)

    def put(column: str, value: str) -> None:
        cells[BOOKING_COLUMNS.index(column)] = value

    invoice = b.kind == "invoice"
    put("Umsatz (ohne Soll/Haben-Kz)", _amount(b.gross_cents))
    put("Soll/Haben-Kennzeichen", '"S"' if invoice else '"H"')
    put("WKZ Umsatz", '"EUR"')
    put("Konto", str(b.debtor))
    put("Gegenkonto (ohne BU-Schlüssel)", config.revenue_account(b.tax_category))
    put("BU-Schlüssel", _text(config.tax_key(b.tax_category)))
    put("Belegdatum", b.issue_date.strftime("%d%m"))
    put("Belegfeld 1", _text(b.number, 36))
    put("Buchungstext", _text("Guthabenaufladung" if invoice else f"Gutschrift zu {b.reference or ''}".strip(), 60))
    if b.tax_category == "AE" and b.buyer_vat_id:
        put("EU-Land u. UStID (Bestimmung)", _text(b.buyer_vat_id.replace(" ", ""), 15))
    put("Leistungsdatum", b.issue_date.strftime("%d%m%Y"))
    put("Festschreibung", "0")
    return cells


def debtor_line(number: int, profile: AccountProfile) -> list[str]:
    cells = [""] * len(DEBTOR_COLUMNS)
    values = {
        "Konto": str(number),
        "Name (Adressattyp Unternehmen)": _text(profile.name, 50),
        "Adressattyp": '"2"',
        "Kurzbezeichnung": _text(profile.name, 15),
        "Adressart": '"STR"',
        "Straße": _text(profile.address.line1, 36),
        "Postleitzahl": _text(profile.address.postal_code, 10),
        "Ort": _text(profile.address.city, 30),
        "Land": _text(profile.country.upper(), 2),
        "E-Mail": _text(profile.email, 60),
        "Telefon": _text(profile.phone or "", 60),
    }
    if profile.vat_id:
        values["EU-Land"], values["EU-UStID"] = _text(profile.vat_id[:2].upper()), _text(profile.vat_id[2:], 13)
    for column, value in values.items():
        cells[DEBTOR_COLUMNS.index(column)] = value
    return cells


def file_bytes(rows: list[list[str]]) -> bytes:
    return "".join(";".join(row) + "\r\n" for row in rows).encode(ENCODING, errors="replace")


def bookings_file(config: DatevConfig, bookings: list[Booking], *, month: str, created: datetime) -> bytes:
    head = header(
        config,
        category=21,
        name="Buchungsstapel",
        version=13,
        month=month,
        created=created,
        description=f"Rechnungen {month}",
    )
    return file_bytes([head, [_text(c) for c in BOOKING_COLUMNS], *(booking_line(config, b) for b in bookings)])


def debtors_file(
    config: DatevConfig, debtors: list[tuple[int, AccountProfile]], *, month: str, created: datetime
) -> bytes:
    head = header(
        config, category=16, name="Debitoren/Kreditoren", version=5, month=month, created=created, description=""
    )
    return file_bytes([head, [_text(c) for c in DEBTOR_COLUMNS], *(debtor_line(n, p) for n, p in debtors)])


# -- the month's documents, from the database ---------------------------------------------------------


async def month_bookings(*, db: Database, config: DatevConfig, month: str) -> list[Booking]:
    """The month's issued invoices and credit notes (by issue date), with their tenants' debtor accounts."""
    year, mon = (int(p) for p in month.split("-"))
    first, following = date(year, mon, 1), date(year + (mon == 12), mon % 12 + 1, 1)
    query = (
        sa.select(documents)
        .where(
            documents.c.kind.in_(("invoice", "credit_note")),
            documents.c.status == "issued",
            documents.c.issue_date >= first,
            documents.c.issue_date < following,
        )
        .order_by(documents.c.issue_date, documents.c.number)
    )
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
        invoices = await _invoice_numbers(session, [r.topup_id for r in rows if r.kind == "credit_note"])
    debtors = await assign_debtors(db=db, config=config, tenant_ids=sorted({r.tenant_id for r in rows}))
    return [
        Booking(
            kind=r.kind,
            tenant_id=r.tenant_id,
            number=r.number,
            issue_date=r.issue_date,
            gross_cents=r.total_cents,
            tax_category=r.tax_category or "S",
            debtor=debtors[r.tenant_id],
            buyer_vat_id=r.buyer_vat_id,
            reference=invoices.get(r.topup_id) if r.kind == "credit_note" else None,
        )
        for r in rows
    ]


async def _invoice_numbers(session, topup_ids: list[str | None]) -> dict[str, str]:
    wanted = [t for t in topup_ids if t]
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(documents.c.topup_id, documents.c.number).where(
            documents.c.kind == "invoice", documents.c.topup_id.in_(wanted)
        )
    )
    return {r.topup_id: r.number for r in rows}


async def assign_debtors(*, db: Database, config: DatevConfig, tenant_ids: list[str]) -> dict[str, int]:
    """Each tenant's debtor account, the next free one of the range for a tenant seen the first time.
    Exports running at once serialise on an advisory lock; a number, once given, is never reused."""
    table = table_of(DatevDebtor)
    async with db.transaction() as session:
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('datev_debtors'))"))
        known = dict((await session.execute(sa.select(table.c.tenant_id, table.c.number))).all())
        low, high = config.debtor_range
        following = max([n for n in known.values() if low <= n <= high], default=low - 1) + 1
        for tenant_id in tenant_ids:
            if tenant_id in known:
                continue
            if following > high:
                raise ValueError(f"DATEV_DEBTOR_RANGE {low}-{high} is used up")
            await session.execute(
                sa.insert(table).values(tenant_id=tenant_id, number=following, assigned_at=datetime.now(UTC))
            )
            known[tenant_id], following = following, following + 1
    return {t: known[t] for t in tenant_ids}


# -- the example in docs/ ------------------------------------------------------------------------------


def example() -> bytes:
    """A sample month: two invoices (one reverse charge) and a credit note of the first."""
    config = DatevConfig()
    bookings = [
        Booking("invoice", "ten_a", "RE-2026-000041", date(2026, 3, 2), 25_000, "S", 10000),
        Booking(
            "invoice", "ten_b", "RE-2026-000042", date(2026, 3, 14), 10_000, "AE", 10001, buyer_vat_id="NL123456789B01"
        ),
        Booking(
            "credit_note", "ten_a", "KR-2026-000007", date(2026, 3, 20), 5_000, "S", 10000, reference="RE-2026-000041"
        ),
    ]
    return bookings_file(config, bookings, month="2026-03", created=datetime(2026, 4, 1, 8, 0, tzinfo=UTC))


if __name__ == "__main__":
    if sys.argv[1:] != ["example"]:
        raise SystemExit("usage: python -m services.documents.datev example > docs/datev-example-buchungsstapel.csv")
    sys.stdout.buffer.write(example())
