from datetime import UTC, datetime

from runtime.logs import redact
from services.notify.channels.templates import render_password_reset

URL = "https://portal.example/password-reset/new#token=abcDEF123_-abcDEF123_-xyz"
EXPIRES = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


def test_reset_mail_links_and_names_the_expiry_in_both_languages() -> None:
    de = render_password_reset("de-DE", reset_url=URL, expires_at=EXPIRES)
    en = render_password_reset("en", reset_url=URL, expires_at=EXPIRES)

    assert de.subject == "Passwort zurücksetzen" and en.subject == "Reset your password"
    assert "26.11.2026 07:30 UTC" in de.text and "2026-11-26 07:30 UTC" in en.text
    assert f'<a href="{URL}">Neues Passwort festlegen</a>' in de.html
    assert f"Set a new password: {URL}" in en.text


def test_reset_links_are_redacted_from_logs() -> None:
    event = redact(None, "info", {"event": "x", "reset_url": URL, "detail": f"failed for {URL}"})
    assert event["reset_url"] == "***"
    assert "abcDEF123" not in event["detail"] and "/password-reset/new#token=***" in event["detail"]
