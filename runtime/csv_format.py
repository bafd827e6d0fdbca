"""The CSV customers download (API.md): UTF-8 with a BOM (so spreadsheets detect the encoding),
`;`-separated, amounts in euros with two decimals — a decimal comma for locale `de`, a point for
`en` — and every cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
return first) prefixed with `'`. One writer for the transactions export (gateway) and the statement
CSV (documents), so both read the same in Excel, Numbers or LibreOffice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRANSACTION_FIELDS = ("id", "kind", "amount", "balance_after", "description", "reference", "created_at")


def euros(cents: int | None, locale: str) -> str:
    """Cents as euros with two decimals, e.g. -1234 → "-12,34" (de) or "-12.34" (en); a plain number,
    so it is never a formula to guard against."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}{',' if locale == 'de' else '.'}{rest:02d}"


def text(value: object) -> str:
    """A cell of text someone typed (a description, a reference): never run as a formula."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def document(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A whole CSV file as text (encode it as UTF-8): the BOM, the header, then the rows."""
    return BOM + line(header) + "".join(line(row) for row in rows)
