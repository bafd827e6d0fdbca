"""What a reconciler asks Stripe and localstripe cannot answer: lists filtered as Stripe filters them,
and refunds that stay `pending` for a while.

* `GET /v1/payment_intents?customer=…&created[gte]=…` and `GET /v1/refunds?created[gte]=…` (plus the
  `charge` / `payment_intent` filters localstripe has), newest first, paginated with `starting_after`.
* `POST /_test/refunds/pending {"enabled": true}`: refunds created from now on stay `pending` (as bank
  transfers' and some cards' do at Stripe) until `POST /_test/refunds/{id}/settle {"status":
  "succeeded"|"failed"}`, which sends `charge.refund.updated` and `refund.updated`, as Stripe does.
"""

from __future__ import annotations

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

from .dispatch import emit

PaymentIntent, Refund, Charge = resources.PaymentIntent, resources.Refund, resources.Charge
_pending_refunds = {"enabled": False}


def _created_filter(created) -> tuple[str, int] | None:
    if created is None:
        return None
    if isinstance(created, str | int):
        return "eq", int(created)
    if isinstance(created, dict) and len(created) == 1:
        ((op, value),) = created.items()
        if op in ("gt", "gte", "lt", "lte"):
            return op, int(value)
    raise UserError(400, "Invalid created filter")


def _matches(created_at: int, condition: tuple[str, int] | None) -> bool:
    if condition is None:
        return True
    op, value = condition
    return {
        "eq": created_at == value,
        "gt": created_at > value,
        "gte": created_at >= value,
        "lt": created_at < value,
        "lte": created_at <= value,
    }[op]


def _list(cls, url, items, *, limit, starting_after):
    li = resources.List(url, limit=limit, starting_after=starting_after)
    li._list = sorted(items, key=lambda o: o.created, reverse=True)
    return li


def _intents_list_all(cls, url, customer=None, created=None, limit=None, starting_after=None, **kwargs):
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs))
    condition = _created_filter(created)
    items = [
        v
        for k, v in resources.store.items()
        if k.startswith("payment_intent:")
        and (customer is None or v.customer == customer)
        and _matches(v.created, condition)
    ]
    return _list(cls, url, items, limit=limit, starting_after=starting_after)


def _refunds_list_all(
    cls, url, charge=None, payment_intent=None, created=None, limit=None, starting_after=None, **kwargs
):
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs))
    if payment_intent is not None:
        charge = PaymentIntent._api_retrieve(payment_intent).latest_charge.id
    condition = _created_filter(created)
    items = [
        v
        for k, v in resources.store.items()
        if k.startswith("refund:") and (charge is None or v.charge == charge) and _matches(v.created, condition)
    ]
    return _list(cls, url, items, limit=limit, starting_after=starting_after)


def _patch_pending_refunds() -> None:
    init = Refund.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if _pending_refunds["enabled"]:
            self.status = "pending"

    Refund.__init__ = __init__


async def set_pending(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    _pending_refunds["enabled"] = bool(body.get("enabled", True))
    return web.json_response(_pending_refunds)


async def settle_refund(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    refund = Refund._api_retrieve(request.match_info["id"])
    refund.status = body.get("status", "succeeded")
    emit("charge.refund.updated", refund)
    emit("refund.updated", refund)
    return server.json_response(refund._export())


def install() -> None:
    PaymentIntent._api_list_all = classmethod(_intents_list_all)
    Refund._api_list_all = classmethod(_refunds_list_all)
    _patch_pending_refunds()


def listing_routes() -> list[web.RouteDef]:
    return [web.post("/_test/refunds/pending", set_pending), web.post("/_test/refunds/{id}/settle", settle_refund)]
