"""German and English for the portal: a small translation table and money/date formatting.

The locale comes from `?lang=` (remembered in a cookie), then that cookie, then the tenant's `locale`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.gateway.portal.texts import TEXTS

LOCALES = ("de", "en")
LANG_COOKIE = "pp_lang"


def pick_locale(query: str | None, cookie: str | None, tenant: str | None) -> str:
    for candidate in (query, cookie, tenant):
        if candidate in LOCALES:
            return candidate
    return "de"


class Translator:
    def __init__(self, locale: str, timezone: str = "Europe/Berlin", texts: dict[str, tuple[str, str]] = TEXTS) -> None:
        self.locale = locale
        self.tz = ZoneInfo(timezone)
        self.texts = texts  # the portal's, or the operator console's (services/gateway/ops/texts.py)
        self._column = LOCALES.index(locale)

    def __call__(self, key: str, **params) -> str:
        entry = self.texts.get(key)
        text = entry[self._column] if entry else key
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self.texts

    def money(self, cents: int | None) -> str:
        if cents is None:
            return "–"
        sign = "−" if cents < 0 else ""
        euros, rest = divmod(abs(cents), 100)
        grouped = f"{euros:,}"
        if self.locale == "de":
            return f"{sign}{grouped.replace(',', '.')},{rest:02d}\u00a0€"
        return f"{sign}€{grouped}.{rest:02d}"

    def euros_input(self, cents: int | None) -> str:
        """A value for `<input type=number>` (always a dot)."""
        return "" if cents is None else f"{cents / 100:.2f}".removesuffix(".00")

    def datetime(self, value: datetime | str | None) -> str:
        moment = _parse(value)
        if moment is None:
            return "–"
        local = moment.astimezone(self.tz)
        return local.strftime("%d.%m.%Y %H:%M" if self.locale == "de" else "%Y-%m-%d %H:%M")

    def date(self, value: datetime | str | None) -> str:
        moment = _parse(value)
        if moment is None:
            return "–"
        local = moment.astimezone(self.tz)
        return local.strftime("%d.%m.%Y" if self.locale == "de" else "%Y-%m-%d")

    def kind(self, kind: str) -> str:
        return self(f"kind.{kind}") if self.has(f"kind.{kind}") else kind

    def event(self, event_type: str) -> str:
        return self(f"event.{event_type}") if self.has(f"event.{event_type}") else event_type


def _parse(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
