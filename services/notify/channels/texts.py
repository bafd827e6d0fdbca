"""Message catalog: subject, short text (SMS / push) and body paragraphs per locale and event type.

Placeholders are `str.format` fields filled by `templates.render_*`: amounts arrive already
formatted for the locale (`{balance}`, `{threshold}`, `{amount}`, `{expires_at}`), tenant text as it is
(`{reason}`, `{url}`), and is escaped there for HTML. No markup in here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    subject: str
    short: str
    body: tuple[str, ...]
    action_label: str | None = None  # rendered as a link to data["action_url"]


GREETING = {"de": "Hallo {name},", "en": "Hello {name},"}
GREETING_NO_NAME = {"de": "Hallo,", "en": "Hello,"}
SIGNATURE = {"de": "Ihr Abrechnungsteam", "en": "Your billing team"}
DOCUMENT_KINDS = {
    "de": {"invoice": "Rechnung", "credit_note": "Rechnungskorrektur", "statement": "Kontoauszug"},
    "en": {"invoice": "invoice", "credit_note": "credit note", "statement": "statement"},
}
# Known reason codes in event data; any other reason is shown as it came.
REASONS = {
    "de": {
        "gone": "Der Endpunkt hat mit 410 Gone geantwortet.",
        "failing": "Seit längerer Zeit ist keine Zustellung gelungen.",
        "card_declined": "Die Karte wurde abgelehnt.",
        "insufficient_funds": "Die Karte ist nicht ausreichend gedeckt.",
        "expired_card": "Die Karte ist abgelaufen.",
    },
    "en": {
        "gone": "The endpoint answered 410 Gone.",
        "failing": "No delivery has succeeded for a long time.",
        "card_declined": "The card was declined.",
        "insufficient_funds": "The card has insufficient funds.",
        "expired_card": "The card has expired.",
    },
}

CATALOG: dict[str, dict[str, Text]] = {
    "de": {
        "balance.low": Text(
            "Ihr Guthaben ist niedrig",
            "Guthaben niedrig: {balance} (Warnschwelle {threshold}).",
            (
                "Ihr Guthaben beträgt nur noch {balance} und liegt damit unter Ihrer Warnschwelle von {threshold}.",
                "Laden Sie rechtzeitig auf, damit Ihr Dienst ohne Unterbrechung weiterläuft.",
            ),
        ),
        "balance.depleted": Text(
            "Ihr Guthaben ist aufgebraucht",
            "Guthaben aufgebraucht: {balance}. Bitte laden Sie auf.",
            ("Ihr Guthaben beträgt {balance}. Der Dienst kann erst nach einer Aufladung weiter genutzt werden.",),
        ),
        "topup.succeeded": Text(
            "Aufladung erfolgreich",
            "Aufladung über {amount} gutgeschrieben.",
            ("Ihre Aufladung über {amount} wurde gutgeschrieben.", "Ihr neues Guthaben: {balance}."),
        ),
        "topup.failed": Text(
            "Aufladung fehlgeschlagen",
            "Aufladung über {amount} fehlgeschlagen.",
            ("Ihre Aufladung über {amount} ist fehlgeschlagen.", "Grund: {reason}"),
        ),
        "autotopup.triggered": Text(
            "Automatische Aufladung gestartet",
            "Automatische Aufladung über {amount} gestartet.",
            ("Ihr Guthaben ({balance}) liegt unter {threshold}: Wir belasten Ihre hinterlegte Karte mit {amount}.",),
        ),
        "autotopup.succeeded": Text(
            "Automatische Aufladung erfolgreich",
            "Automatische Aufladung über {amount} gutgeschrieben.",
            ("Die automatische Aufladung über {amount} wurde Ihrem Guthaben gutgeschrieben.",),
        ),
        "autotopup.failed": Text(
            "Automatische Aufladung fehlgeschlagen",
            "Automatische Aufladung fehlgeschlagen: {reason}",
            (
                "Die automatische Aufladung ist fehlgeschlagen.",
                "Grund: {reason}",
                "Wir versuchen es später erneut.",
            ),
        ),
        "autotopup.paused": Text(
            "Automatische Aufladung wartet auf Ihre Bestätigung",
            "Automatische Aufladung pausiert, bitte bestätigen: {action_url}",
            (
                "Ihre Bank verlangt für die automatische Aufladung eine Bestätigung. Bis dahin "
                "ist die automatische Aufladung pausiert.",
            ),
            "Zahlung bestätigen",
        ),
        "autotopup.disabled": Text(
            "Automatische Aufladung deaktiviert",
            "Automatische Aufladung deaktiviert: {reason}",
            (
                "Die automatische Aufladung wurde deaktiviert.",
                "Grund: {reason}",
                "Sie können sie im Portal wieder aktivieren.",
            ),
        ),
        "document.issued": Text(
            "Neue {kind} {number}",
            "Neue {kind} {number} im Portal.",
            ("Ihre {kind} {number} wurde ausgestellt. Sie finden sie im Anhang und im Portal.",),
        ),
        "webhook_endpoint.disabled": Text(
            "Webhook-Endpunkt deaktiviert",
            "Webhook-Endpunkt {url} deaktiviert.",
            ("Ihr Webhook-Endpunkt {url} wurde deaktiviert.", "Grund: {reason}"),
        ),
        "credits.expiring": Text(
            "Ihr Aktionsguthaben verfällt bald",
            "{amount} Aktionsguthaben verfallen am {expires_at}.",
            (
                "{amount} Ihres Aktionsguthabens verfallen am {expires_at}.",
                "Bis dahin wird Ihr Verbrauch zuerst mit diesem Guthaben verrechnet.",
            ),
        ),
        "credits.expired": Text(
            "Aktionsguthaben verfallen",
            "{amount} Aktionsguthaben sind verfallen.",
            ("{amount} Ihres Aktionsguthabens sind verfallen und wurden von Ihrem Guthaben abgezogen.",),
        ),
    },
    "en": {
        "balance.low": Text(
            "Your balance is low",
            "Balance low: {balance} (threshold {threshold}).",
            (
                "Your balance is down to {balance}, below your warning threshold of {threshold}.",
                "Top up in time to keep your service running without interruption.",
            ),
        ),
        "balance.depleted": Text(
            "Your balance is used up",
            "Balance used up: {balance}. Please top up.",
            ("Your balance is {balance}. The service can only be used again after a top-up.",),
        ),
        "topup.succeeded": Text(
            "Top-up successful",
            "Top-up of {amount} credited.",
            ("Your top-up of {amount} has been credited.", "Your new balance: {balance}."),
        ),
        "topup.failed": Text(
            "Top-up failed",
            "Top-up of {amount} failed.",
            ("Your top-up of {amount} failed.", "Reason: {reason}"),
        ),
        "autotopup.triggered": Text(
            "Auto top-up started",
            "Auto top-up of {amount} started.",
            ("Your balance ({balance}) is below {threshold}: we are charging {amount} to your saved card.",),
        ),
        "autotopup.succeeded": Text(
            "Auto top-up successful",
            "Auto top-up of {amount} credited.",
            ("Your auto top-up of {amount} has been credited to your balance.",),
        ),
        "autotopup.failed": Text(
            "Auto top-up failed",
            "Auto top-up failed: {reason}",
            ("Your auto top-up failed.", "Reason: {reason}", "We will try again later."),
        ),
        "autotopup.paused": Text(
            "Auto top-up needs your confirmation",
            "Auto top-up paused, please confirm: {action_url}",
            ("Your bank asks you to confirm the auto top-up payment. Until then, auto top-up is paused.",),
            "Confirm payment",
        ),
        "autotopup.disabled": Text(
            "Auto top-up disabled",
            "Auto top-up disabled: {reason}",
            ("Auto top-up has been disabled.", "Reason: {reason}", "You can turn it on again in the portal."),
        ),
        "document.issued": Text(
            "New {kind} {number}",
            "New {kind} {number} in the portal.",
            ("Your {kind} {number} has been issued. It is attached and in the portal.",),
        ),
        "webhook_endpoint.disabled": Text(
            "Webhook endpoint disabled",
            "Webhook endpoint {url} disabled.",
            ("Your webhook endpoint {url} has been disabled.", "Reason: {reason}"),
        ),
        "credits.expiring": Text(
            "Your promotional credit expires soon",
            "{amount} of promotional credit expires on {expires_at}.",
            (
                "{amount} of your promotional credit expires on {expires_at}.",
                "Until then, your usage is drawn from this credit first.",
            ),
        ),
        "credits.expired": Text(
            "Promotional credit expired",
            "{amount} of promotional credit expired.",
            ("{amount} of your promotional credit expired and was taken off your balance.",),
        ),
    },
}

# Emails about a portal login, not about an event of the tenant's account: no preferences apply.
ACCOUNT_TEXTS: dict[str, dict[str, Text]] = {
    "de": {
        "password_reset": Text(
            "Passwort zurücksetzen",
            "Link zum Zurücksetzen Ihres Passworts",
            (
                "Sie haben angefordert, das Passwort Ihres Zugangs zum Guthabenportal zurückzusetzen.",
                "Der Link ist bis {expires} gültig und kann nur einmal verwendet werden.",
                "Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail. Ihr Passwort bleibt unverändert.",
            ),
            "Neues Passwort festlegen",
        ),
    },
    "en": {
        "password_reset": Text(
            "Reset your password",
            "Link to reset your password",
            (
                "You asked to reset the password of your login to the balance portal.",
                "The link is valid until {expires} and works only once.",
                "If you did not ask for this, ignore this email. Your password stays as it is.",
            ),
            "Set a new password",
        ),
    },
}
