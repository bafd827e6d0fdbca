"""Checkout Sessions (mode=payment), which localstripe lacks, in Stripe's object shape.

A session stays ``open`` until it is paid through ``POST /_test/checkout/sessions/{id}/pay``
(or the hosted stand-in page), expired through Stripe's ``POST .../{id}/expire`` (or the
test alias), or reaches ``expires_at``. Paying creates and confirms a PaymentIntent with
``payment_intent_data`` (metadata, setup_future_usage) as Stripe does.
"""

from __future__ import annotations

import asyncio
import time

from localstripe import resources
from localstripe.errors import UserError

from . import cards
from .dispatch import emit

PI_DATA_KEYS = {
    "metadata",
    "setup_future_usage",
    "description",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "receipt_email",
}
OPTIONAL = ("client_reference_id", "customer_email", "locale", "submit_type", "payment_method_types")


def _bad(message: str, param: str) -> UserError:
    return UserError(400, message, {"param": param})


def _line_total(item: object, index: int) -> tuple[int, str]:
    param = f"line_items[{index}]"
    if not isinstance(item, dict) or "price" in item:
        raise _bad("The emulator supports line_items with price_data only.", param)
    quantity = resources.try_convert_to_int(item.get("quantity", 1))
    data = item.get("price_data") or {}
    amount = resources.try_convert_to_int(data.get("unit_amount"))
    if not (isinstance(quantity, int) and quantity > 0 and isinstance(amount, int) and amount > 0):
        raise _bad("quantity and price_data[unit_amount] must be positive integers.", param)
    if not ((data.get("currency") and (data.get("product_data") or {}).get("name")) or data.get("product")):
        raise _bad("price_data needs currency and product_data[name].", param)
    return amount * quantity, str(data["currency"]).lower()


class CheckoutSession(resources.StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(
        self,
        mode=None,
        customer=None,
        line_items=None,
        metadata=None,
        payment_intent_data=None,
        success_url=None,
        cancel_url=None,
        expires_at=None,
        **kwargs,
    ):
        extra = {key: kwargs.pop(key, None) for key in OPTIONAL}
        if kwargs:
            raise UserError(400, "Received unknown parameters: " + ", ".join(kwargs))
        if mode != "payment":
            raise _bad("The emulator supports mode=payment only.", "mode")
        if not isinstance(line_items, list) or not line_items:
            raise _bad("line_items is required in payment mode.", "line_items")
        totals = [_line_total(item, index) for index, item in enumerate(line_items)]
        if len({currency for _, currency in totals}) != 1:
            raise _bad("All line items must share one currency.", "line_items")
        intent_data = payment_intent_data or {}
        if not isinstance(intent_data, dict) or set(intent_data) - PI_DATA_KEYS:
            raise _bad("Unsupported payment_intent_data.", "payment_intent_data")
        if intent_data.get("setup_future_usage") not in (None, "on_session", "off_session"):
            raise _bad("Invalid setup_future_usage.", "payment_intent_data[setup_future_usage]")
        now = int(time.time())
        expires_at = resources.try_convert_to_int(expires_at or now + 86400)
        if not isinstance(expires_at, int) or not now < expires_at <= now + 86400:
            raise _bad("expires_at must be in the future and at most 24 hours away.", "expires_at")
        if customer is not None:
            resources.Customer._api_retrieve(customer)
        super().__init__(id="cs_test_a1" + resources.random_id(56))
        self._intent_data = intent_data
        amount = sum(total for total, _ in totals)
        self.amount_subtotal = self.amount_total = amount
        self.currency = totals[0][1]
        self.mode, self.customer, self.metadata = mode, customer, metadata or {}
        self.success_url, self.cancel_url, self.expires_at = success_url, cancel_url, expires_at
        vars(self).update(extra)
        self.payment_method_types = self.payment_method_types or ["card"]
        self.status, self.payment_status, self.payment_intent = "open", "unpaid", None
        self.customer_details = self.invoice = self.setup_intent = self.subscription = None
        self.payment_link = self.after_expiration = self.client_secret = None
        self.ui_mode, self.customer_creation = "hosted", None if customer else "if_required"
        self.automatic_tax = {"enabled": False, "liability": None, "status": None}
        self.total_details = {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}
        self.url = None  # set by the route, which knows the emulator's address
        asyncio.get_running_loop().call_later(expires_at - now, self._expire_quietly)

    def _expire(self) -> CheckoutSession:
        if self.status != "open":
            raise UserError(400, f"Only open Checkout Sessions can be expired; this one is {self.status}.")
        self.status, self.url = "expired", None
        emit("checkout.session.expired", self)
        return self

    def _expire_quietly(self) -> None:
        if self.status == "open":
            self._expire()

    def _pay(self, payment_method=None, card_number=None, authenticate=True) -> CheckoutSession:
        if self.status != "open":
            raise UserError(400, f"This Checkout Session is {self.status}, not open.")
        pm = (
            cards.new_test_payment_method(card_number)
            if card_number
            else resources.PaymentMethod._api_retrieve(payment_method or "pm_card_visa")
        )
        intent = resources.PaymentIntent(
            amount=self.amount_total,
            currency=self.currency,
            customer=self.customer,
            payment_method=pm.id,
            metadata=dict(self._intent_data.get("metadata") or {}),
            payment_method_types=["card"],
        )
        vars(intent).update({key: self._intent_data.get(key) for key in PI_DATA_KEYS - {"metadata"}})
        self.payment_intent = intent.id
        emit("payment_intent.created", intent)
        if pm._requires_authentication() and not resources.try_convert_to_bool(authenticate):
            intent._authentication_failed, intent.payment_method = True, None
            emit("payment_intent.payment_failed", intent)
            raise cards.card_error(
                "The provided PaymentMethod has failed authentication.",
                code="payment_intent_authentication_failure",
                payment_intent=intent._export(),
            )
        intent._create_charge(on_failure_now=intent._report_failure)  # 3-D Secure counts as passed
        if intent.setup_future_usage and self.customer:
            resources.PaymentMethod._api_attach(pm.id, customer=self.customer)
        customer = resources.Customer._api_retrieve(self.customer) if self.customer else None
        self.customer_details = {
            "email": getattr(customer, "email", None),
            "name": getattr(customer, "name", None),
            "address": getattr(customer, "address", None),
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        self.status, self.payment_status, self.url = "complete", "paid", None
        emit("checkout.session.completed", self)
        return self

    @classmethod
    def _api_list_all(cls, url, payment_intent=None, customer=None, limit=None, starting_after=None, **kwargs):
        listing = super()._api_list_all(url, limit=limit, starting_after=starting_after, **kwargs)
        listing._list = [
            s for s in listing._list if payment_intent in (None, s.payment_intent) and customer in (None, s.customer)
        ]
        return listing
