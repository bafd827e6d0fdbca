"""A stand-in for Stripe's hosted Checkout page, so ``checkout_url`` works in a browser.

GET shows the amount and a card number field (4242… pays, 4000000000000002 declines);
POST pays and redirects to ``success_url`` (with ``{CHECKOUT_SESSION_ID}`` filled in) or,
on "cancel", to ``cancel_url`` leaving the session open, as Stripe does.
"""

from __future__ import annotations

import html

from aiohttp import web
from localstripe.errors import UserError

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout (test)</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:3rem auto">
<h1>Test checkout</h1><p>Pay <strong>{amount} {currency}</strong></p><p style="color:#b00">{error}</p>
<form method="post"><label>Card number <input name="card_number" value="4242424242424242"
 autocomplete="off" inputmode="numeric"></label>
<p><button name="action" value="pay">Pay</button> <button name="action" value="cancel">Back</button></p>
</form></body></html>"""


def _page(session, error: str = "", status: int = 200) -> web.Response:
    text = PAGE.format(
        amount=f"{session.amount_total / 100:.2f}",
        currency=html.escape(session.currency.upper()),
        error=html.escape(error),
    )
    return web.Response(text=text, content_type="text/html", status=status)


def hosted_routes(session_cls) -> list[web.RouteDef]:
    async def show(request: web.Request) -> web.Response:
        session = session_cls._api_retrieve(request.match_info["id"])
        if session.status != "open":
            return web.Response(text=f"This checkout session is {session.status}.", status=410)
        return _page(session)

    async def submit(request: web.Request) -> web.Response:
        session = session_cls._api_retrieve(request.match_info["id"])
        form = await request.post()
        if form.get("action") == "cancel":
            raise web.HTTPSeeOther(session.cancel_url or "/")
        try:
            session._pay(card_number=str(form.get("card_number", "")).replace(" ", ""))
        except UserError as exc:
            return _page(session, exc.body["error"].get("message", "Payment failed."), status=402)
        target = (session.success_url or "/").replace("{CHECKOUT_SESSION_ID}", session.id)
        raise web.HTTPSeeOther(target)

    return [web.get("/_test/checkout/{id}", show), web.post("/_test/checkout/{id}", submit)]
