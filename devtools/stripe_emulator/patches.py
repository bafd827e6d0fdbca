"""Bring localstripe's charges, refunds, payment methods and setup intents closer to Stripe.

Adds the events Stripe sends and localstripe does not (charge.*, refund.created,
payment_method.attached/detached, setup_intent.*), Stripe's decline codes, a card's
``payment_method_details`` and an in-memory store (localstripe pickles every write to
one shared file in /tmp).
"""

from __future__ import annotations

from localstripe import resources
from localstripe.errors import UserError

from . import cards
from .dispatch import emit

Charge, PaymentMethod, Refund = resources.Charge, resources.PaymentMethod, resources.Refund
SetupIntent, Customer = resources.SetupIntent, resources.Customer


def _patch_store() -> None:
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


def _patch_charges() -> None:
    trigger_payment, set_auth_failure = Charge._trigger_payment, Charge._set_auth_failure

    def _trigger_payment(self, on_success=None):
        def succeeded():
            emit("charge.succeeded", self)
            if on_success:
                on_success()

        trigger_payment(self, on_success=succeeded)

    def _set_auth_failure(self):
        set_auth_failure(self)
        pm = PaymentMethod._api_retrieve(self.payment_method)
        self.failure_code, self._decline_code, self.failure_message = (
            cards.decline_for(pm, on_charge=True) or cards.GENERIC
        )
        emit("charge.failed", self)

    def payment_method_details(self):
        pm = store_get("payment_method", self.payment_method)
        if pm is None or pm.type != "card":
            return None
        keys = ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4")
        return {"type": "card", "card": {key: pm.card.get(key) for key in keys}}

    Charge._trigger_payment, Charge._set_auth_failure = _trigger_payment, _set_auth_failure
    Charge.payment_method_details = property(payment_method_details)


def _unrefunded(charge_id: str | None, payment_intent_id: str | None) -> tuple[str, int] | None:
    """(charge id, what is left to refund of it), or None when the ids do not resolve (localstripe says why)."""
    try:
        if charge_id is None and isinstance(payment_intent_id, str):
            charge_id = resources.PaymentIntent._api_retrieve(payment_intent_id).latest_charge.id
        charge = Charge._api_retrieve(charge_id)
    except Exception:
        return None
    refunded = sum(
        r.amount
        for key, r in resources.store.items()
        if key.startswith("refund:") and r.charge == charge.id and r.status not in ("failed", "canceled")
    )
    return charge.id, charge.amount - refunded


def _patch_refunds() -> None:
    """Stripe refuses to refund more than is left of a charge (localstripe does not), and a refund
    without `amount` takes what is left, not the whole charge."""
    init = Refund.__init__

    def __init__(self, charge=None, payment_intent=None, amount=None, **kwargs):
        left = _unrefunded(charge, payment_intent)
        if left is not None:
            charge_id, unrefunded = left
            if unrefunded <= 0:
                message = f"Charge {charge_id} has already been refunded."
                raise UserError(400, message, {"code": "charge_already_refunded"})
            wanted = unrefunded if amount is None else resources.try_convert_to_int(amount)
            if isinstance(wanted, int) and wanted > unrefunded:
                message = (
                    f"Refund amount ({wanted / 100:.2f}) is greater than unrefunded amount on charge "
                    f"({unrefunded / 100:.2f})"
                )
                raise UserError(400, message, {"param": "amount"})
            amount = wanted
        init(self, charge=charge, payment_intent=payment_intent, amount=amount, **kwargs)
        charge = Charge._api_retrieve(self.charge)
        self.payment_intent = self.payment_intent or charge.payment_intent
        emit("refund.created", self)
        emit("charge.refunded", charge)

    Refund.__init__ = __init__


def _patch_payment_methods() -> None:
    def _api_attach(cls, id, customer=None, **kwargs):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        if not (isinstance(customer, str) and customer.startswith("cus_")):
            raise UserError(400, "Missing required param: customer.", {"param": "customer"})
        pm = cls._api_retrieve(id)
        Customer._api_retrieve(customer)
        if pm.customer not in (None, customer):
            raise UserError(400, "The payment method you provided has already been attached to a customer.")
        declined = cards.decline_for(pm, on_charge=False)
        if declined:
            code, decline_code, message = declined
            raise cards.card_error(message, code=code, decline_code=decline_code, param="")
        if pm.customer is None:
            pm.customer = customer
            emit("payment_method.attached", pm)
        return pm

    def _api_detach(cls, id, **kwargs):
        pm = cls._api_retrieve(id)
        customer = store_get("customer", pm.customer or "")
        if customer is None:
            raise UserError(400, "The payment method you provided is not attached to a customer.")
        if customer.invoice_settings.get("default_payment_method") == pm.id:
            customer.invoice_settings["default_payment_method"] = None
        pm.customer = None
        emit("payment_method.detached", pm)
        return pm

    PaymentMethod._api_attach = classmethod(_api_attach)
    PaymentMethod._api_detach = classmethod(_api_detach)


def _patch_setup_intents() -> None:
    confirm = SetupIntent._api_confirm.__func__

    def _api_confirm(cls, id, **kwargs):
        try:
            si = confirm(cls, id, **kwargs)
        except UserError as exc:
            if exc.code == 402:
                emit("setup_intent.setup_failed", cls._api_retrieve(id))
            raise
        if si.status == "requires_action":
            emit("setup_intent.requires_action", si)
        if si.status == "succeeded" and not getattr(si, "_announced", False):
            si._announced = True
            if si.customer:
                PaymentMethod._api_attach(si.payment_method, customer=si.customer)
            emit("setup_intent.succeeded", si)
        return si

    SetupIntent._api_confirm = classmethod(_api_confirm)


def store_get(kind: str, id: str):
    return resources.store.get(f"{kind}:{id}")


def install() -> None:
    _patch_store()
    _patch_charges()
    _patch_refunds()
    _patch_payment_methods()
    _patch_setup_intents()
