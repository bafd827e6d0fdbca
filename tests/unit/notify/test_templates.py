import pytest

from contracts.portal.catalog import NOTIFIABLE
from services.notify.channels.templates import (
    EVENT_TYPES,
    UnknownEventType,
    format_cents,
    normalize_locale,
    render_email,
    render_short,
)

SAMPLE_DATA = {
    "balance.low": {"balance_cents": 950, "threshold_cents": 1000},
    "balance.depleted": {"balance_cents": -120},
    "topup.succeeded": {"amount_cents": 10_000, "balance_cents": 15_500},
    "topup.failed": {"amount_cents": 10_000, "reason": "card_declined"},
    "autotopup.triggered": {
        "trigger_id": "atp_1",
        "amount_cents": 5_000,
        "balance_cents": 900,
        "threshold_cents": 1_000,
    },
    "autotopup.succeeded": {"trigger_id": "atp_1", "topup_id": "top_1", "amount_cents": 5_000},
    "autotopup.failed": {"reason": "insufficient_funds"},
    "autotopup.paused": {"action_url": "https://pay.example.test/authenticate/pi_1"},
    "autotopup.disabled": {"reason": "three consecutive failures"},
    "document.issued": {"id": "doc_1", "kind": "invoice", "number": "RE-2025-000042"},
    "webhook_endpoint.disabled": {"id": "we_1", "url": "https://hooks.example.test/in", "reason": "gone"},
    "credits.expiring": {"grant_id": "grt_1", "amount_cents": 1250, "expires_at": "2027-01-31T23:00:00+00:00"},
    "credits.expired": {"grant_id": "grt_1", "amount_cents": 1250},
}


def test_every_notifiable_event_type_of_the_catalogue_has_texts_and_a_sample() -> None:
    assert set(SAMPLE_DATA) == EVENT_TYPES == set(NOTIFIABLE)


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("event_type", sorted(SAMPLE_DATA))
def test_every_event_renders_completely_in_both_languages(event_type: str, locale: str) -> None:
    mail = render_email(event_type, locale, SAMPLE_DATA[event_type], recipient_name="Muster GmbH")
    short = render_short(event_type, locale, SAMPLE_DATA[event_type])

    for text in (mail.subject, mail.text, mail.html, short.title, short.body):
        assert text and "{" not in text and "–" not in text
    assert "Muster GmbH" in mail.text and f'lang="{locale}"' in mail.html


def test_german_and_english_differ_and_name_the_document() -> None:
    data = SAMPLE_DATA["document.issued"]
    assert render_email("document.issued", "de-DE", data).subject == "Neue Rechnung RE-2025-000042"
    assert render_email("document.issued", "en_GB", data).subject == "New invoice RE-2025-000042"


def test_paused_auto_topup_links_to_the_authentication_page() -> None:
    mail = render_email("autotopup.paused", "en", SAMPLE_DATA["autotopup.paused"])

    assert "https://pay.example.test/authenticate/pi_1" in mail.text
    assert '<a href="https://pay.example.test/authenticate/pi_1">Confirm payment</a>' in mail.html
    assert (
        "https://pay.example.test/authenticate/pi_1"
        in render_short("autotopup.paused", "de", SAMPLE_DATA["autotopup.paused"]).body
    )


def test_script_in_an_action_url_is_never_linked() -> None:
    mail = render_email("autotopup.paused", "en", {"action_url": "javascript:alert(1)"})
    assert "javascript:" not in mail.html


def test_tenant_text_is_escaped_in_html_but_kept_in_plain_text() -> None:
    data = {"id": "we_1", "url": "https://x.test/?a=<script>alert(1)</script>", "reason": "<b>boom</b> & co"}
    mail = render_email("webhook_endpoint.disabled", "en", data, recipient_name='Evil "Corp" <img src=x>')

    assert "<script>" not in mail.html and "<b>" not in mail.html and "<img" not in mail.html
    assert "&lt;script&gt;" in mail.html and "&amp; co" in mail.html
    assert "<script>alert(1)</script>" in mail.text


def test_known_reasons_are_translated_and_others_pass_through() -> None:
    assert "Die Karte wurde abgelehnt." in render_email("topup.failed", "de", SAMPLE_DATA["topup.failed"]).text
    assert (
        "three consecutive failures" in render_email("autotopup.disabled", "en", SAMPLE_DATA["autotopup.disabled"]).text
    )


@pytest.mark.parametrize(
    ("cents", "locale", "expected"),
    [
        (123_456, "de", "1.234,56 €"),
        (123_456, "en", "€1,234.56"),
        (-120, "de", "-1,20 €"),
        (5, "en", "€0.05"),
    ],
)
def test_amounts_are_formatted_for_the_locale(cents: int, locale: str, expected: str) -> None:
    assert format_cents(cents, locale) == expected


@pytest.mark.parametrize(
    ("given", "expected"), [("de-DE", "de"), ("en_US", "en"), ("EN", "en"), ("fr", "de"), (None, "de")]
)
def test_locales_are_normalized_with_german_as_fallback(given: str | None, expected: str) -> None:
    assert normalize_locale(given) == expected


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventType):
        render_email("balance.updated", "de", {})


def test_an_expiring_credit_names_its_amount_and_moment() -> None:
    data = SAMPLE_DATA["credits.expiring"]
    assert (
        render_short("credits.expiring", "de", data).body
        == "12,50 € Aktionsguthaben verfallen am 31.01.2027 23:00 UTC."
    )
    assert (
        render_short("credits.expiring", "en", data).body
        == "€12.50 of promotional credit expires on 2027-01-31 23:00 UTC."
    )
