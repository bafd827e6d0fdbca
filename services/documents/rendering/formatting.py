"""Locale-aware formatting of cents, dates, months and IBANs for printed documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MINUS = "\u2212"

_MONTHS = {
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def _group_thousands(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


def format_money(cents: int, locale: str) -> str:
    """1234567 → "12.345,67 €" (de) or "€12,345.67" (en); negatives get a real minus sign."""
    sign = MINUS if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    if locale == "de":
        return f"{sign}{_group_thousands(euros, '.')},{rest:02d}\u00a0€"
    return f"{sign}€{_group_thousands(euros, ',')}.{rest:02d}"


def format_signed_money(cents: int, locale: str) -> str:
    """Like format_money, but credits carry an explicit plus sign (statement entries)."""
    return ("+" if cents > 0 else "") + format_money(cents, locale)


def format_date(value: date, locale: str) -> str:
    if locale == "de":
        return value.strftime("%d.%m.%Y")
    return f"{value.day} {_MONTHS['en'][value.month - 1]} {value.year}"


def format_month(month: str, locale: str) -> str:
    """ "2026-03" → "März 2026" / "March 2026"."""
    year, number = month.split("-")
    return f"{_MONTHS[locale][int(number) - 1]} {year}"


def format_iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def cents_to_decimal(cents: int) -> Decimal:
    """Exact two-decimal amount for the XML (never via float)."""
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))
