"""Stripe's test cards as far as the emulator knows them: brands, declines, test ids."""

from __future__ import annotations

from localstripe import resources
from localstripe.errors import UserError

GENERIC = ("card_declined", "generic_decline", "Your card was declined.")

# number -> (code, decline_code, message); these decline on attach and on charge.
DECLINED = {
    "4000000000000002": GENERIC,
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": ("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
# Attach fine, charges decline.
DECLINED_ON_CHARGE = {
    "4000000000000341": GENERIC,
    "4000008260003178": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000008400001629": GENERIC,
}
# Stripe's documented PaymentMethod test ids (localstripe knows only three of them).
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_de": "4000002760000016",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
}


def brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number.startswith("2"):
        return "mastercard"
    return "unknown"


def decline_for(pm: object, *, on_charge: bool) -> tuple[str, str, str] | None:
    number = getattr(pm, "_card_number", None)
    if number in DECLINED:
        return DECLINED[number]
    if on_charge and number in DECLINED_ON_CHARGE:
        return DECLINED_ON_CHARGE[number]
    return None


def card_error(message: str, **fields: object) -> UserError:
    """A 402 with Stripe's card_error type (localstripe always says invalid_request_error)."""
    error = UserError(402, message, dict(fields))
    error.body["error"]["type"] = "card_error"
    return error


def new_test_payment_method(number: str) -> resources.PaymentMethod:
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    return resources.PaymentMethod(type="card", card=card)


def install() -> None:
    pm_cls = resources.PaymentMethod
    original_init = pm_cls.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.type == "card":
            self.card["brand"] = brand(self._card_number)
            self.card["country"] = "DE" if self._card_number.startswith("400000276") else "US"

    def _try_get_canonical_test_article(cls, id):
        number = TEST_PAYMENT_METHODS.get(id)
        return new_test_payment_method(number) if number else None

    pm_cls.__init__ = __init__
    pm_cls._try_get_canonical_test_article = classmethod(_try_get_canonical_test_article)
    pm_cls._attaching_is_declined = lambda self: decline_for(self, on_charge=False) is not None
    pm_cls._charging_is_declined = lambda self: decline_for(self, on_charge=True) is not None
