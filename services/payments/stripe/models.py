"""What the Stripe adapter returns: plain frozen values, no `stripe` objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Card:
    """A saved card. `id` is the attached PaymentMethod's id, which may differ from the one given
    (Stripe turns test ids such as `pm_card_visa` into new PaymentMethods)."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @classmethod
    def from_stripe(cls, payment_method: dict[str, Any]) -> Card:
        card = payment_method.get("card") or {}
        return cls(
            id=payment_method["id"],
            brand=card.get("brand", "unknown"),
            last4=card.get("last4", ""),
            exp_month=int(card.get("exp_month") or 0),
            exp_year=int(card.get("exp_year") or 0),
        )


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    expires_at: int
    payment_intent_id: str | None

    @classmethod
    def from_stripe(cls, session: dict[str, Any]) -> CheckoutSession:
        intent = session.get("payment_intent")
        return cls(
            id=session["id"],
            url=session.get("url"),
            status=session.get("status", "open"),
            payment_status=session.get("payment_status", "unpaid"),
            expires_at=int(session.get("expires_at") or 0),
            payment_intent_id=intent["id"] if isinstance(intent, dict) else intent,
        )


@dataclass(frozen=True)
class SetupIntent:
    id: str
    client_secret: str


@dataclass(frozen=True)
class ChargeSucceeded:
    payment_intent_id: str
    charge_id: str | None


@dataclass(frozen=True)
class ChargeFailed:
    """`code` is Stripe's error code (card_declined, expired_card, …), `decline_code` the bank's
    reason when given (insufficient_funds, generic_decline, …); `message` can be shown to the customer."""

    code: str
    decline_code: str | None
    message: str
    payment_intent_id: str | None


@dataclass(frozen=True)
class ChargeRequiresAuthentication:
    """The bank wants the customer (SCA): confirm `payment_intent_id` on session with `client_secret`."""

    payment_intent_id: str | None
    client_secret: str | None


@dataclass(frozen=True)
class ChargePending:
    """Accepted but not final (rare for cards): the payment_intent.* webhook will tell."""

    payment_intent_id: str


ChargeOutcome = ChargeSucceeded | ChargeFailed | ChargeRequiresAuthentication | ChargePending
