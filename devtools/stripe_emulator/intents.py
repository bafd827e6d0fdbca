"""PaymentIntents as Stripe answers them for off-session charges.

localstripe answers an off-session charge of a card that needs 3-D Secure with a 200 and
``status: requires_action``; Stripe answers 402 ``authentication_required`` with the
PaymentIntent (now ``requires_payment_method``) inside the error. Declines get Stripe's
``card_error`` type, ``decline_code`` and ``payment_intent``; ``latest_charge`` is an id
unless expanded; ``payment_intent.created`` is sent.
"""

from __future__ import annotations

from localstripe import resources
from localstripe.errors import UserError

from . import cards
from .dispatch import emit

PaymentIntent = resources.PaymentIntent

# Parameters Stripe accepts that localstripe rejects; stored and echoed back as given.
EXTRA_PARAMS = (
    "description",
    "setup_future_usage",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
)
AUTH_REQUIRED = "Your card was declined. This transaction requires authentication."
PROCESSING = {"enabled": False}  # POST /_test/payment_intents/processing: off-session charges stay processing


def create(cls, confirm=None, off_session=None, **data):
    confirm = resources.try_convert_to_bool(confirm)
    off_session = resources.try_convert_to_bool(off_session)
    if off_session is not None and confirm is not True:
        raise UserError(400, "off_session can only be used with confirm=true.", {"param": "off_session"})
    extras = {key: data.pop(key, None) for key in EXTRA_PARAMS}
    intent = cls(**data)
    vars(intent).update(extras)
    emit("payment_intent.created", intent)
    if confirm and off_session and PROCESSING["enabled"]:  # as an asynchronous payment method answers
        intent._processing = True
        emit("payment_intent.processing", intent)
        return intent
    if confirm:
        intent._confirm(on_failure_now=intent._report_failure)
        if off_session and intent.status == "requires_action":
            _fail_authentication(intent)
    return intent


def _fail_authentication(intent) -> None:
    pm = resources.PaymentMethod._api_retrieve(intent.payment_method)
    intent.next_action = None
    intent.payment_method = None
    intent._last_error = {
        "code": "authentication_required",
        "decline_code": "authentication_required",
        "message": AUTH_REQUIRED,
        "type": "card_error",
        "payment_method": pm._export(),
    }
    emit("payment_intent.payment_failed", intent)
    raise cards.card_error(
        AUTH_REQUIRED,
        code="authentication_required",
        decline_code="authentication_required",
        payment_intent=intent._export(),
        payment_method=pm._export(),
    )


def _install_failure_details() -> None:
    report_failure = PaymentIntent._report_failure
    last_payment_error = PaymentIntent.last_payment_error.fget

    def _report_failure(self):
        try:
            report_failure(self)
        except UserError as exc:
            error = exc.body["error"]
            error.update(
                type="card_error",
                decline_code=getattr(self.latest_charge, "_decline_code", None),
                payment_intent=self._export(),
                param="",
            )
            raise

    def last_error(self):
        error = getattr(self, "_last_error", None) or last_payment_error(self)
        if error and "charge" in error:
            error = {
                **error,
                "type": "card_error",
                "decline_code": getattr(self.latest_charge, "_decline_code", None),
            }
        return error

    PaymentIntent._report_failure = _report_failure
    PaymentIntent.last_payment_error = property(last_error)


def _install_export() -> None:
    export = PaymentIntent._export

    def _export(self, expand=None):
        obj = export(self, expand=expand)
        if getattr(self, "_processing", False):
            obj["status"] = "processing"
        elif getattr(self, "_failed_later", False):
            obj["status"] = "requires_payment_method"
        expanded = any(path.split(".")[0] == "latest_charge" for path in expand or [])
        if isinstance(obj.get("latest_charge"), dict) and not expanded:
            obj["latest_charge"] = obj["latest_charge"]["id"]
        obj.pop("charges", None)  # removed from the API in 2022-11-15
        return obj

    PaymentIntent._export = _export


def install() -> None:
    PaymentIntent._api_create = classmethod(create)
    _install_failure_details()
    _install_export()


async def set_processing(request):
    from aiohttp import web

    body = await request.json() if request.can_read_body else {}
    PROCESSING["enabled"] = bool(body.get("enabled", True))
    return web.json_response(PROCESSING)


async def fail_processing(request):
    """The bank refuses a `processing` charge later: `payment_intent.payment_failed`, as at Stripe."""
    from localstripe import server

    intent = PaymentIntent._api_retrieve(request.match_info["id"])
    intent._processing, intent._failed_later = False, True
    intent.payment_method = None
    intent._last_error = {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "type": "card_error",
        "message": "Your card has insufficient funds.",
    }
    emit("payment_intent.payment_failed", intent)
    return server.json_response(intent._export())


def processing_routes():
    from aiohttp import web

    return [
        web.post("/_test/payment_intents/processing", set_processing),
        web.post("/_test/payment_intents/{id}/fail", fail_processing),
    ]
