"""Render the catalog in `texts.py` for a locale: e-mail (text + HTML) and short messages.

Tenant-supplied text (names, reasons, URLs) is escaped in HTML; the plain-text part and SMS
carry it as it is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.notify.channels.texts import (
    ACCOUNT_TEXTS,
    CATALOG,
    DOCUMENT_KINDS,
    GREETING,
    GREETING_NO_NAME,
    REASONS,
    SIGNATURE,
    Text,
)

DEFAULT_LOCALE = "de"
EVENT_TYPES = frozenset(CATALOG[DEFAULT_LOCALE])
MISSING = "–"


class UnknownEventType(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class ShortMessage:
    title: str
    body: str


def normalize_locale(locale: str | None) -> str:
    """`de-DE`, `en_US`, `EN` → `de` / `en`; anything else → the default."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in CATALOG else DEFAULT_LOCALE


def format_cents(cents: int, locale: str) -> str:
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}"
    if locale == "de":
        return f"{sign}{grouped.replace(',', '.')},{rest:02d} €"
    return f"{sign}€{grouped}.{rest:02d}"


def format_moment(value: str, locale: str) -> str:
    """An ISO timestamp from event data, in UTC to the minute (the event does not carry the tenant's zone)."""
    try:
        moment = datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return value
    return moment.strftime("%d.%m.%Y %H:%M UTC" if locale == "de" else "%Y-%m-%d %H:%M UTC")


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return MISSING


def _fields(data: Mapping[str, Any], locale: str) -> _Fields:
    fields = _Fields()
    for key, value in data.items():
        if value is None:
            continue
        if key.endswith("_cents") and isinstance(value, int):
            fields[key.removesuffix("_cents")] = format_cents(value, locale)
        fields[key] = str(value)
    if "expires_at" in fields:
        fields["expires_at"] = format_moment(fields["expires_at"], locale)
    for key, translations in (("kind", DOCUMENT_KINDS), ("reason", REASONS)):
        if key in fields:
            fields[key] = translations[locale].get(fields[key], fields[key])
    return fields


def _text(event_type: str, locale: str) -> Text:
    try:
        return CATALOG[locale][event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def render_short(event_type: str, locale: str | None, data: Mapping[str, Any]) -> ShortMessage:
    """Title and one line for SMS and web push."""
    lang = normalize_locale(locale)
    text, fields = _text(event_type, lang), _fields(data, lang)
    return ShortMessage(text.subject.format_map(fields), text.short.format_map(fields))


def render_email(
    event_type: str,
    locale: str | None,
    data: Mapping[str, Any],
    *,
    recipient_name: str | None = None,
) -> RenderedEmail:
    lang = normalize_locale(locale)
    return _render(_text(event_type, lang), lang, data, recipient_name=recipient_name)


def render_password_reset(locale: str | None, *, reset_url: str, expires_at: datetime) -> RenderedEmail:
    """The reset link for a portal user (an account email: no preferences, no tenant name)."""
    lang = normalize_locale(locale)
    expires = expires_at.astimezone(UTC).strftime("%d.%m.%Y %H:%M UTC" if lang == "de" else "%Y-%m-%d %H:%M UTC")
    return _render(ACCOUNT_TEXTS[lang]["password_reset"], lang, {"expires": expires, "action_url": reset_url})


def _render(text: Text, lang: str, data: Mapping[str, Any], *, recipient_name: str | None = None) -> RenderedEmail:
    fields = _fields(data, lang)
    greeting = GREETING[lang].format(name=recipient_name) if recipient_name else GREETING_NO_NAME[lang]
    paragraphs = [greeting, *(line.format_map(fields) for line in text.body)]
    action_url = _safe_link(data.get("action_url"))
    return RenderedEmail(
        subject=text.subject.format_map(fields),
        text=_plain(paragraphs, text.action_label, action_url, SIGNATURE[lang]),
        html=_html(paragraphs, text.action_label, action_url, SIGNATURE[lang], lang),
    )


def _safe_link(url: object) -> str | None:
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return None


def _plain(paragraphs: list[str], label: str | None, url: str | None, signature: str) -> str:
    parts = list(paragraphs)
    if label and url:
        parts.append(f"{label}: {url}")
    parts.append(signature)
    return "\n\n".join(parts) + "\n"


def _html(paragraphs: list[str], label: str | None, url: str | None, signature: str, lang: str) -> str:
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if label and url:
        body.append(f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>')
    body.append(f"<p>{html.escape(signature)}</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>'
        f"<body>\n{chr(10).join(body)}\n</body></html>\n"
    )
