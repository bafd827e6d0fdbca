"""The DATEV booking batch read back as DATEV reads it: the EXTF header, 125 columns on every line,
Windows-1252, decimal comma, DDMM dates, S/H, the revenue account and key of each tax case."""

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime

from contracts.billing.v1 import AccountProfile, Address
from services.documents import datev


def read(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("cp1252")), delimiter=";"))


def test_the_example_month_reads_back_as_a_datev_booking_batch():
    header, columns, *lines = read(datev.example())
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    assert (header[10], header[11], header[12], header[13]) == ("1001", "1", "20260101", "4")  # adviser, client,
    assert (header[14], header[15], header[26]) == ("20260301", "20260331", "03")  # fiscal year, length; SKR03
    assert len(columns) == len(datev.BOOKING_COLUMNS) == 125
    assert all(len(line) == 125 for line in lines)
    at = {name: i for i, name in enumerate(columns)}
    cells = [{name: line[i] for name, i in at.items()} for line in lines]
    fields = (
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "BU-Schlüssel",
        "Belegdatum",
        "Belegfeld 1",
    )
    assert [tuple(c[f] for f in fields) for c in cells] == [
        ("250,00", "S", "10000", "8200", "3", "0203", "RE-2026-000041"),
        ("100,00", "S", "10001", "8336", "", "1403", "RE-2026-000042"),  # reverse charge: the §13b EU account
        ("50,00", "H", "10000", "8200", "3", "2003", "KR-2026-000007"),
    ]
    assert cells[1]["EU-Land u. UStID (Bestimmung)"] == "NL123456789B01"
    assert cells[2]["Buchungstext"] == "Gutschrift zu RE-2026-000041"


def test_skr04_and_a_reverse_charge_key_come_from_the_settings():
    config = replace(datev.DatevConfig(chart="SKR04"), tax_keys={"S": "3", "AE": "46"})
    booking = datev.Booking("invoice", "ten_b", "RE-1", date(2026, 3, 1), 10_000, "AE", 10001, buyer_vat_id="NL1")
    _, columns, line = read(datev.bookings_file(config, [booking], month="2026-03", created=datetime.now(UTC)))
    values = dict(zip(columns, line, strict=True))
    assert (values["Gegenkonto (ohne BU-Schlüssel)"], values["BU-Schlüssel"]) == ("4336", "46")


def test_the_debtor_master_data_names_each_tenant_once_with_its_address_and_vat_id():
    profile = AccountProfile(
        tenant_id="t",
        name="Pieterse Klantenservice B.V.",
        email="ap@pieterse.example",
        country="NL",
        vat_id="NL123456789B01",
        address=Address(line1="Keizersgracht 452", postal_code="1016 GD", city="Amsterdam"),
    )
    header, columns, line = read(
        datev.debtors_file(datev.DatevConfig(), [(10001, profile)], month="2026-03", created=datetime.now(UTC))
    )
    assert header[:5] == ["EXTF", "700", "16", "Debitoren/Kreditoren", "5"]
    values = dict(zip(columns, line, strict=True))
    assert (
        values["Konto"],
        values["Name (Adressattyp Unternehmen)"],
        values["EU-Land"],
        values["EU-UStID"],
        values["Ort"],
    ) == ("10001", "Pieterse Klantenservice B.V.", "NL", "123456789B01", "Amsterdam")


def test_text_that_cp1252_cannot_hold_is_replaced_not_refused():
    profile = AccountProfile(
        tenant_id="t",
        name="Łódź Telefonie € Sp. z o.o.",
        email="x@y.example",
        address=Address(line1="ulica 1", postal_code="90-001", city="Łódź"),
    )
    content = datev.debtors_file(datev.DatevConfig(), [(10002, profile)], month="2026-03", created=datetime.now(UTC))
    assert '"?ód? Telefonie € Sp. z o.o."' in content.decode("cp1252")  # Ł and ź do not exist there, € does
