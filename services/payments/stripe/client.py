"""Async adapter over the official Stripe SDK; only the `stripe_*` modules of the service import `stripe`.

Every call goes through the SDK's `*_async` methods on an httpx client. Stripe errors
become `errors` exceptions; results are `models` values or, for objects read
back to check stale webhook data, plain dicts shaped like `event["data"]["object"]`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe

from .errors import StripeAdapterError, translate, translated_errors
from .intent_outcome import outcome_of, outcome_of_card_error
from .models import Card, ChargeOutcome, CheckoutSession, SetupIntent
from .signatures import verify_webhook


class StripeAdapter:
    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        timeout_s: float = 30,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        addresses: Any = {"api": api_base.rstrip("/")} if api_base else None
        self._stripe = stripe.StripeClient(
            api_key, base_addresses=addresses, http_client=self._http, max_network_retries=max_network_retries
        ).v1

    @classmethod
    def from_settings(cls, settings: Any) -> StripeAdapter:
        """Reads `stripe_api_key` and, when set, `stripe_api_base` (STRIPE_API_KEY / STRIPE_API_BASE)."""
        return cls(api_key=settings.stripe_api_key, api_base=getattr(settings, "stripe_api_base", None) or None)

    async def aclose(self) -> None:
        await self._http.close_async()

    async def ensure_customer(self, *, tenant_id: str, email: str | None = None, name: str | None = None) -> str:
        """The tenant's Stripe customer id: one customer per tenant (Stripe keeps idempotency keys 24 h)."""
        params = {"metadata": {"tenant_id": tenant_id}, **_present(email=email, name=name)}
        with translated_errors():
            customer = await self._stripe.customers.create_async(
                params=params, options={"idempotency_key": f"customer-{tenant_id}"}
            )
        return customer.id

    async def update_customer(self, customer_id: str, *, email: str | None, name: str | None) -> None:
        """Keep the customer's email and name (receipts, the Dashboard) equal to the tenant's profile."""
        params = _present(email=email, name=name)
        if params:
            with translated_errors():
                await self._stripe.customers.update_async(customer_id, params=params)

    async def create_checkout_session(
        self,
        *,
        customer_id: str,
        amount_cents: int,
        metadata: dict[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        currency: str = "EUR",
        product_name: str = "Prepaid balance top-up",
        expires_at: int | None = None,
    ) -> CheckoutSession:
        """A hosted payment page that also saves the card for off-session use; `metadata` goes on the
        session and on its PaymentIntent, so every webhook of the payment carries it."""
        price = {
            "currency": currency.lower(),
            "unit_amount": amount_cents,
            "product_data": {"name": product_name},
        }
        params = {
            "mode": "payment",
            "customer": customer_id,
            "line_items": [{"quantity": 1, "price_data": price}],
            "metadata": metadata,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "payment_method_types": ["card"],
            "payment_intent_data": {"setup_future_usage": "off_session", "metadata": metadata},
            **_present(expires_at=expires_at),
        }
        with translated_errors():
            session = await self._stripe.checkout.sessions.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return CheckoutSession.from_stripe(session.to_dict())

    async def expire_checkout_session(self, session_id: str) -> CheckoutSession:
        with translated_errors():
            return CheckoutSession.from_stripe(
                (await self._stripe.checkout.sessions.expire_async(session_id)).to_dict()
            )

    async def attach_payment_method(self, *, customer_id: str, payment_method_id: str) -> Card:
        """Raises CardDeclined when the bank refuses the card."""
        with translated_errors():
            pm = await self._stripe.payment_methods.attach_async(payment_method_id, params={"customer": customer_id})
        return Card.from_stripe(pm.to_dict())

    async def detach_payment_method(self, *, payment_method_id: str) -> None:
        with translated_errors():
            await self._stripe.payment_methods.detach_async(payment_method_id)

    async def set_default_payment_method(self, *, customer_id: str, payment_method_id: str | None) -> None:
        """The card used for off-session charges by default; None clears it."""
        params = {"invoice_settings": {"default_payment_method": payment_method_id or ""}}
        with translated_errors():
            await self._stripe.customers.update_async(customer_id, params=params)

    async def default_payment_method(self, *, customer_id: str) -> str | None:
        with translated_errors():
            customer = (await self._stripe.customers.retrieve_async(customer_id)).to_dict()
        default = (customer.get("invoice_settings") or {}).get("default_payment_method")
        return default["id"] if isinstance(default, dict) else default

    async def list_payment_methods(self, *, customer_id: str) -> list[Card]:
        with translated_errors():
            page = await self._stripe.payment_methods.list_async(
                params={"customer": customer_id, "type": "card", "limit": 100}
            )
        return [Card.from_stripe(pm) for pm in page.to_dict()["data"]]

    async def create_setup_intent(
        self, *, customer_id: str, idempotency_key: str | None = None, metadata: dict[str, str] | None = None
    ) -> SetupIntent:
        """For cards that need authentication when saved; `setup_intent.succeeded` reports the card."""
        params = {
            "customer": customer_id,
            "usage": "off_session",
            "payment_method_types": ["card"],
            **_present(metadata=metadata),
        }
        with translated_errors():
            intent = await self._stripe.setup_intents.create_async(
                params=params, options=_present(idempotency_key=idempotency_key)
            )
        return SetupIntent(id=intent.id, client_secret=intent.client_secret or "")

    async def charge_off_session(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_cents: int,
        idempotency_key: str,
        metadata: dict[str, str],
        currency: str = "EUR",
        description: str | None = None,
    ) -> ChargeOutcome:
        """Charge a saved card without the customer. Declines and SCA are outcomes, not exceptions;
        StripeUnavailable means "unknown, retry with the same idempotency key"."""
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": metadata,
            **_present(description=description),
        }
        try:
            intent = await self._stripe.payment_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            return outcome_of_card_error(error.json_body, fallback_code=error.code)
        except stripe.StripeError as error:
            raise translate(error) from error
        return outcome_of(intent.to_dict())

    async def retrieve_payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        with translated_errors():
            return (await self._stripe.payment_intents.retrieve_async(payment_intent_id)).to_dict()

    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        with translated_errors():
            return (await self._stripe.checkout.sessions.retrieve_async(session_id)).to_dict()

    async def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        with translated_errors():
            return (await self._stripe.charges.retrieve_async(charge_id)).to_dict()

    async def retrieve_payment_method(self, payment_method_id: str) -> dict[str, Any]:
        with translated_errors():
            return (await self._stripe.payment_methods.retrieve_async(payment_method_id)).to_dict()

    async def refund(
        self,
        *,
        payment_intent_id: str,
        idempotency_key: str,
        amount_cents: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Refund all (or `amount_cents`) of a payment; `charge.refunded` reports it."""
        params = {"payment_intent": payment_intent_id, **_present(amount=amount_cents, metadata=metadata)}
        with translated_errors():
            refund = await self._stripe.refunds.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return refund.to_dict()

    async def list_refunds(self, *, charge_id: str) -> list[dict[str, Any]]:
        """Every refund of a charge (Stripe no longer embeds them in the charge)."""
        with translated_errors():
            page = await self._stripe.refunds.list_async(params={"charge": charge_id, "limit": 100})
        return page.to_dict()["data"]

    async def retrieve_refund(self, refund_id: str) -> dict[str, Any]:
        with translated_errors():
            return (await self._stripe.refunds.retrieve_async(refund_id)).to_dict()

    async def list_payment_intents(
        self, *, created_since: datetime, customer_id: str | None = None, limit: int = 10_000
    ) -> list[dict[str, Any]]:
        """PaymentIntents created since a moment (of one customer), newest first, every page."""
        params = {"created": {"gte": int(created_since.timestamp())}, **_present(customer=customer_id)}
        return await self._list_all(self._stripe.payment_intents.list_async, params, limit)

    async def list_refunds_since(self, *, created_since: datetime, limit: int = 10_000) -> list[dict[str, Any]]:
        return await self._list_all(
            self._stripe.refunds.list_async, {"created": {"gte": int(created_since.timestamp())}}, limit
        )

    async def _list_all(self, list_async, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page_params = {**params, "limit": 100}
        while len(found) < limit:
            with translated_errors():
                page = (await list_async(params=page_params)).to_dict()
            found.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                break
            page_params["starting_after"] = page["data"][-1]["id"]
        return found[:limit]


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


__all__ = ["StripeAdapter", "StripeAdapterError", "outcome_of", "verify_webhook"]
