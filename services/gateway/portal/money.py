"""Reading euro amounts typed by people ("25", "25,50", "1.000,00", "25.5") as integer cents."""

from __future__ import annotations

import re

_AMOUNT = re.compile(
    r"^\d{1,3}(?:[.\s]\d{3})*(?:,\d{1,2})?$"  # 1.000,50
    r"|^\d{1,3}(?:[,\s]\d{3})*(?:\.\d{1,2})?$"  # 1,000.50
    r"|^\d+(?:[.,]\d{1,2})?$"  # 1000,5 or 1000.5
)


def parse_euros(text: str | None) -> int | None:
    """Cents for a typed euro amount, None when it is not one (negative amounts are not amounts)."""
    raw = (text or "").strip().replace("\u00a0", " ").removesuffix("€").strip()
    if not raw or not _AMOUNT.match(raw):
        return None
    if re.match(r"^\d+[.,]\d{1,2}$", raw):
        whole, _, frac = raw.replace(",", ".").partition(".")
    else:
        decimal = "," if re.search(r",\d{1,2}$", raw) else "."
        whole, _, frac = raw.partition(decimal) if re.search(rf"\{decimal}\d{{1,2}}$", raw) else (raw, "", "")
        whole = re.sub(r"[.,\s]", "", whole)
    return int(whole) * 100 + int((frac + "00")[:2])
