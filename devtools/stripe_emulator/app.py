"""localstripe's aiohttp app rebuilt with the emulator's extensions.

localstripe binds its extra endpoints (attach, confirm, …) when it is imported, so the app
is rebuilt here from its own handler factories after the patches are installed.
Test-only endpoints live under ``/_test/`` and need no API key.
"""

from __future__ import annotations

from aiohttp import web
from localstripe import resources, server

from . import cards, checkout, dispatch, idempotency, intents, listing, patches
from .faults import fault_middleware, fault_routes
from .hosted import hosted_routes

CRUD_CLASSES = (
    resources.BalanceTransaction,
    resources.Charge,
    resources.Coupon,
    resources.Customer,
    resources.Event,
    resources.Invoice,
    resources.InvoiceItem,
    resources.PaymentIntent,
    resources.PaymentMethod,
    resources.Payout,
    resources.Plan,
    resources.Product,
    resources.Refund,
    resources.SetupIntent,
    resources.Source,
    resources.Subscription,
    resources.SubscriptionItem,
    resources.TaxRate,
    resources.Token,
)
Session = checkout.CheckoutSession
_installed = False


def install_extensions() -> None:
    global _installed
    if not _installed:
        dispatch.install()
        cards.install()
        patches.install()
        intents.install()
        listing.install()
        _installed = True


@web.middleware
async def auth_middleware(request: web.Request, handler) -> web.StreamResponse:
    if request.path.startswith("/_test/"):
        return await handler(request)
    return await server.auth_middleware(request, handler)


def _json(obj: resources.StripeObject, request: web.Request | None = None) -> web.Response:
    if isinstance(obj, Session) and obj.status == "open" and request is not None:
        obj.url = f"{request.scheme}://{request.host}/_test/checkout/{obj.id}"
    return server.json_response(obj._export())


async def create_session(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    data.pop("expand", None)
    return _json(Session(**data), request)


async def expire_session(request: web.Request) -> web.Response:
    return _json(Session._api_retrieve(request.match_info["id"])._expire())


async def pay_session(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    return _json(Session._api_retrieve(request.match_info["id"])._pay(**data))


async def resend_event(request: web.Request) -> web.Response:
    event = resources.Event._api_retrieve(request.match_info["id"])
    dispatch.schedule_webhook(event)
    return server.json_response(event._export())


def _current(func):
    """The patched version of a classmethod localstripe captured at import time."""
    owner = getattr(func, "__self__", None)
    return getattr(owner, func.__name__) if isinstance(owner, type) else func


def build_app() -> web.Application:
    install_extensions()
    app = web.Application(
        middlewares=[fault_middleware, idempotency.idempotency_middleware, server.error_middleware, auth_middleware]
    )
    app.on_response_prepare.append(server.add_cors_headers)
    add = app.router.add_route
    add("POST", "/v1/checkout/sessions", create_session)
    add("GET", "/v1/checkout/sessions", server.api_list_all(Session, "/v1/checkout/sessions"))
    add("GET", "/v1/checkout/sessions/{id}", server.api_retrieve(Session, "/v1/checkout/sessions/{id}"))
    add("POST", "/v1/checkout/sessions/{id}/expire", expire_session)
    add("POST", "/_test/checkout/sessions/{id}/pay", pay_session)
    add("POST", "/_test/checkout/sessions/{id}/expire", expire_session)
    add("POST", "/_test/events/{id}/resend", resend_event)
    app.router.add_routes(hosted_routes(Session))
    app.router.add_routes(fault_routes())
    app.router.add_routes(listing.listing_routes())
    app.router.add_routes(intents.processing_routes())
    for method, url, func in resources.extra_apis:
        add(method, url, server.api_extra(_current(func), url))
    for cls in CRUD_CLASSES:
        base = "/v1/" + cls.object + "s"
        add("POST", base, server.api_create(cls, base))
        add("GET", base + "/{id}", server.api_retrieve(cls, base))
        add("POST", base + "/{id}", server.api_update(cls, base))
        add("DELETE", base + "/{id}", server.api_delete(cls, base))
        add("GET", base, server.api_list_all(cls, base))
    add("GET", "/js.stripe.com/v3/", server.localstripe_js)
    add("POST", "/_config/webhooks/{id}", server.config_webhook)
    add("DELETE", "/_config/data", server.flush_store)
    return app
